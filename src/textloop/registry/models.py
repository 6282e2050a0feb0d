"""Numbered model versions per classifier and the movable aliases (``production``) over them.

Artifacts live under ``<artifact_root>/classifiers/<name>/models/<version>/``; the database stores
that path relative to the root so a data directory can be moved or mounted elsewhere.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from textloop.errors import NotBlessed
from textloop.metadata.recorder import (
    close_context,
    model_uri,
    open_context,
    record_artifact,
    record_execution,
)
from textloop.models.base import save_model
from textloop.store.queries import (
    aliased_model,
    get_classifier,
    next_version,
    resolve_model_version,
)
from textloop.store.tables import Classifier, DatasetVersion, ModelAlias, ModelVersion, utcnow

PRODUCTION = "production"
SHADOW = "shadow"  # scored beside production, never answers (monitoring.shadow)
CALIBRATED = "calibrated"  # the wrapper family; the name stored and shown is the inner one


@dataclass(frozen=True)
class Deployment:
    classifier: str
    alias: str
    version: int
    previous_version: int | None


def directory_hash(directory: Path) -> str:
    """SHA-256 over every file's relative path and bytes: the content address of a model."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(directory)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def register_model(
    session: Session,
    artifact_root: Path,
    classifier: Classifier,
    dataset: DatasetVersion,
    model: Any,
    metrics: dict[str, Any],
) -> ModelVersion:
    """Save ``model`` under the next version number and record it; the files land atomically."""
    version = next_version(session, ModelVersion.version, ModelVersion.classifier_id, classifier.id)
    relative = f"classifiers/{classifier.name}/models/{version}"
    final = artifact_root / relative
    staging = final.with_name(f".{version}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    save_model(model, staging)
    if final.exists():
        shutil.rmtree(final)  # left behind by a run whose database write failed
    staging.rename(final)
    record = ModelVersion(
        classifier_id=classifier.id,
        version=version,
        family=trained_family(model),
        dataset_version_id=dataset.id,
        artifact_uri=relative,
        labels=list(model.classes_),
        params=model.get_params(),
        metrics=metrics,
    )
    session.add(record)
    session.flush()
    return record


def trained_family(model: Any) -> str:
    """The family that learned, as the CLI names it (``ngram``, ``ensemble``), not ``calibrated``:
    calibration wraps every winner, so its name would say nothing about the model."""
    inner = getattr(model, "model", None) if model.family == CALIBRATED else None
    return str(inner.family) if inner is not None else str(model.family)


def set_alias(
    session: Session,
    name: str,
    alias: str,
    version: int | None = None,
    force: bool = False,
    record: bool = True,
) -> Deployment:
    """Point ``alias`` at ``version`` (default: the newest) and return what it replaced.

    ``production`` only takes a blessed version unless ``force`` is given. The move is recorded
    as a one-step ``deploy`` run unless the caller is a pipeline step that records itself.
    """
    classifier = get_classifier(session, name)
    target = resolve_model_version(session, classifier, version)
    if alias == PRODUCTION and not force:
        _require_blessing(name, target)
    previous = aliased_model(session, classifier, alias)
    row = session.get(ModelAlias, (classifier.id, alias))
    if row is None:
        session.add(
            ModelAlias(classifier_id=classifier.id, alias=alias, model_version_id=target.id)
        )
    else:
        row.model_version_id = target.id
        row.updated_at = utcnow()
    session.flush()
    if record:
        _record_deployment(session, classifier.id, name, alias, target.version, previous, force)
    return Deployment(
        classifier=name,
        alias=alias,
        version=target.version,
        previous_version=previous.version if previous else None,
    )


def _require_blessing(name: str, target: ModelVersion) -> None:
    verdict = target.blessing
    if verdict is None:
        raise NotBlessed(
            f"{name} model version {target.version} has no blessing verdict; "
            "deploy it with --force if you are sure"
        )
    if not verdict["blessed"]:
        raise NotBlessed(
            f"{name} model version {target.version} was not blessed against production "
            f"version {verdict['production_version']}: {'; '.join(verdict['reasons'])}. "
            "Deploy it with --force to override"
        )


def _record_deployment(
    session: Session,
    classifier_id: int,
    name: str,
    alias: str,
    version: int,
    previous: ModelVersion | None,
    forced: bool,
) -> None:
    started = utcnow()
    model = record_artifact(session, classifier_id, "model", model_uri(name, version))
    deployment = record_artifact(
        session,
        classifier_id,
        "deployment",
        f"textloop://{name}/deployments/{uuid.uuid4().hex}",
        properties={
            "alias": alias,
            "version": version,
            "previous_version": previous.version if previous else None,
            "forced": forced,
        },
    )
    parameters = {"alias": alias, "version": version, "force": forced}
    run = open_context(session, classifier_id, "deploy", parameters)
    record_execution(
        session,
        classifier_id,
        "deploy",
        parameters,
        started,
        inputs=[model],
        outputs=[deployment],
        context_id=run.id,
    )
    close_context(session, run.id, "succeeded")
