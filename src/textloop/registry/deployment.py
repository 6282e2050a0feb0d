"""Deploying: infra-validate the version once (recorded), then move the production alias.

The alias only moves to a version that is blessed and passed infra-validation, unless forced.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from textloop.errors import NotBlessed
from textloop.pipeline.infra_validation import infra_validate
from textloop.registry.models import PRODUCTION, Deployment, set_alias
from textloop.store.database import Store
from textloop.store.queries import get_classifier, get_model_version, resolve_model_version
from textloop.store.tables import Example

SAMPLE_SIZE = 50


def deploy_model(
    store: Store, artifact_root: Path, name: str, version: int | None = None, force: bool = False
) -> Deployment:
    with store.session() as session:
        classifier = get_classifier(session, name)
        target = resolve_model_version(session, classifier, version)
        number, recorded, labels = target.version, target.infra_validation, list(target.labels)
        path = artifact_root / target.artifact_uri
        sample = list(
            session.scalars(
                select(Example.text)
                .where(Example.dataset_version_id == target.dataset_version_id)
                .order_by(Example.id)
                .limit(SAMPLE_SIZE)
            )
        )
    if recorded is None:
        result = infra_validate(path, labels, sample or ["hello"])
        with store.session() as session:
            row = get_model_version(session, get_classifier(session, name), number)
            row.infra_validation = result.to_dict()
        recorded = result.to_dict()
    if not recorded["passed"] and not force:
        raise NotBlessed(
            f"{name} model version {number} failed infra-validation: "
            f"{'; '.join(recorded['reasons'])}. Deploy it with --force to override"
        )
    with store.session() as session:
        return set_alias(session, name, PRODUCTION, number, force)
