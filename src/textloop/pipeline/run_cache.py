"""Content-aware caching of training runs.

A run's cache key covers its parameters, the dataset version's content hash, the textloop version
and the production model it is blessed against; an earlier successful run with the same key
lends its model version, and the new run is recorded as ``cached``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from textloop.metadata.recorder import (
    cache_key,
    cached_execution,
    dataset_uri,
    find_artifact,
    model_uri,
    record_artifact,
    record_execution,
)
from textloop.pipeline.report import TrainReport
from textloop.registry.models import PRODUCTION
from textloop.store.queries import aliased_model
from textloop.store.tables import Classifier, DatasetVersion, ModelVersion


def training_cache_key(
    session: Session, classifier: Classifier, dataset: DatasetVersion, parameters: dict[str, Any]
) -> str:
    production = aliased_model(session, classifier, PRODUCTION)
    production_hash = None
    if production is not None:
        artifact = find_artifact(session, model_uri(classifier.name, production.version))
        production_hash = (artifact.content_hash if artifact else None) or f"id:{production.id}"
    decisive = {k: v for k, v in parameters.items() if k != "dataset_version"}
    return cache_key("train", decisive, [dataset.content_hash, production_hash])


def reuse_identical_run(
    session: Session,
    classifier: Classifier,
    dataset: DatasetVersion,
    key: str,
    parameters: dict[str, Any],
    started_at: datetime,
) -> TrainReport | None:
    """The report of an identical earlier run, recorded again as a ``cached`` execution."""
    hit = cached_execution(session, key)
    if hit is None:
        return None
    execution, outputs = hit
    model_id = next(
        (a.properties.get("model_version_id") for a in outputs if a.type == "model"), None
    )
    model = session.get(ModelVersion, model_id) if model_id is not None else None
    if model is None:
        return None
    uri = dataset_uri(classifier.name, dataset.version)
    record_execution(
        session,
        classifier.id,
        "train",
        {**parameters, "dataset_version": dataset.version, "reused_run": execution.id},
        started_at,
        [record_artifact(session, classifier.id, "dataset", uri)],
        outputs,
        status="cached",
    )
    return TrainReport(
        classifier=classifier.name,
        version=model.version,
        family=model.params.get("inner") or model.family,
        dataset_version=dataset.version,
        test_metrics=model.metrics.get("test", {}),
        calibration=model.metrics.get("calibration", {}),
        blessing=model.blessing or {},
        candidates=model.metrics.get("validation", {}),
        cached=True,
    )
