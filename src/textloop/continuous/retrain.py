"""A retrain job: merge reviewed labels, run the training pipeline, deploy if blessed, tell people.

Only a candidate blessed against production on the same test rows is deployed, through
``release.deploy`` (which also checks infra-validation and announces ``model.deployed``), and
only when the classifier's ``deploy_mode`` is ``auto``; in ``manual`` a blessed candidate stays
registered, shadowed, for an admin to deploy. Any failure leaves production as it was, emits
``run.failed`` and re-raises, so the job queue retries it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from textloop.config import Settings
from textloop.continuous.merge import merge_reviewed_labels, unmerged_reviewed_labels
from textloop.continuous.triggers import LABELS
from textloop.errors import NotBlessed
from textloop.jobs.lease import fence
from textloop.models.base import ModelResources
from textloop.notifications.events import emit
from textloop.pipeline.training import AUTO, train_classifier
from textloop.registry.aliases import set_shadow
from textloop.release.deploy import deploy_model
from textloop.store.database import Store
from textloop.store.queries import get_classifier, latest_dataset_version
from textloop.store.tables import DeployMode, ModelVersion


def retrain(
    store: Store,
    settings: Settings,
    name: str,
    payload: dict[str, Any],
    resources: ModelResources | None = None,
) -> dict[str, Any]:
    """Run one retrain; the result is what the job records."""
    with store.session() as session:
        classifier = get_classifier(session, name)
        classifier_id, mode = classifier.id, classifier.deploy_mode
        family = payload.get("model") or classifier.retrain_model or AUTO
        wanted = classifier.retrain_after
        waiting = len(unmerged_reviewed_labels(session, classifier))
        newest = latest_dataset_version(session, classifier)
        trained = session.scalar(
            select(ModelVersion.id).where(ModelVersion.dataset_version_id == newest.id).limit(1)
        )
    dataset_version = payload.get("dataset_version")
    automatic = payload.get("trigger") == LABELS and dataset_version is None
    if automatic and waiting < wanted and trained is not None:
        # (an earlier attempt may have merged the labels and failed before training: then the
        # newest version has no model yet, and this attempt trains it)
        return {"skipped": f"{waiting} new reviewed labels, fewer than {wanted}"}
    emit(store, classifier_id, "run.started", classifier=name, trigger=payload.get("trigger"))
    try:
        merged = None
        if dataset_version is None:  # a backfill trains on the version it names, as it is
            merged = merge_reviewed_labels(store, settings, name, resources)
        report = train_classifier(
            store,
            settings,
            name,
            family,
            dataset_version=dataset_version,
            resources=resources,
            from_step="train" if payload.get("backfill") else None,
        )
        verdict = report.blessing
        common = {"classifier": name, "version": report.version, "run": report.run}
        if verdict.get("blessed"):
            emit(store, classifier_id, "model.blessed", **common, accuracy=_accuracy(report))
        else:
            reasons = verdict.get("reasons", [])
            emit(store, classifier_id, "model.rejected", **common, reasons=reasons)
        deployed, refused = False, None
        if verdict.get("blessed") and mode == DeployMode.AUTO:
            deployed, refused = _deploy(store, settings, name, report.version, report.run)
    except Exception as exc:
        emit(store, classifier_id, "run.failed", classifier=name, error=str(exc))
        raise
    awaiting_approval = bool(verdict.get("blessed")) and mode == DeployMode.MANUAL
    if awaiting_approval and verdict.get("production_version") != report.version:
        with store.session() as session:  # the candidate waits for an admin: shadow it meanwhile
            set_shadow(session, name, report.version)
    result = {
        **common,
        "dataset_version": report.dataset_version,
        "blessed": bool(verdict.get("blessed")),
        "deployed": deployed,
        **({"deploy_refused": refused} if refused else {}),
        "merged": merged.__dict__ if merged else None,
        "test_accuracy": _accuracy(report),
    }
    emit(store, classifier_id, "run.succeeded", **result)
    return result


def _deploy(
    store: Store, settings: Settings, name: str, version: int, run: int | None
) -> tuple[bool, str | None]:
    """Deploy a blessed candidate through the one door: whether it moved production (not when
    it is production already), and why it was refused, if it was (infra-validation, say: it
    stays registered)."""
    try:
        moved = deploy_model(store, settings, name, version, guard=fence, details={"run": run})
    except NotBlessed as refused:
        return False, str(refused)
    return moved.previous_version != moved.version, None


def _accuracy(report: Any) -> float | None:
    value = report.test_metrics.get("accuracy")
    return float(value) if value is not None else None
