"""Numbered model versions per classifier and the movable aliases (``production``) over them.

Artifacts live under ``<artifact_root>/classifiers/<name>/models/<version>/``; the database stores
that path relative to the root so a data directory can be moved or mounted elsewhere.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from textloop.artifacts import ArtifactRoot, artifact_store
from textloop.models.base import save_model
from textloop.models.compose import trained_family
from textloop.store.queries import (
    next_version,
)
from textloop.store.tables import Classifier, DatasetVersion, ModelVersion


def register_model(
    session: Session,
    artifact_root: ArtifactRoot,
    classifier: Classifier,
    dataset: DatasetVersion,
    model: Any,
    metrics: dict[str, Any],
) -> ModelVersion:
    """Save ``model`` under the next version number and record it; the files land atomically."""
    version = next_version(session, ModelVersion.version, ModelVersion.classifier_id, classifier.id)
    relative = f"classifiers/{classifier.name}/models/{version}"
    # a folder already there was left by a run whose database write failed: replaced
    artifact_store(artifact_root).publish(relative, lambda staging: save_model(model, staging))
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
