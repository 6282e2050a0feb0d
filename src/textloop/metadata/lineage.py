"""Walks the metadata graph in both directions.

Upstream of a prediction: the model version that made it, the ``train`` run that produced that
model, and what the run consumed (dataset versions, and the production model it was compared
with), each with the run that produced it. Downstream of a dataset version: every run that
consumed it, what those runs produced, and onwards (models, then their deployments).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.errors import NotFound
from textloop.metadata.recorder import dataset_uri, find_artifact, model_uri, run_artifacts
from textloop.store.queries import get_classifier
from textloop.store.tables import (
    Artifact,
    Classifier,
    Event,
    Execution,
    ModelVersion,
    Prediction,
)


def prediction_lineage(session: Session, prediction_id: str) -> dict[str, Any]:
    prediction = session.get(Prediction, prediction_id)
    if prediction is None:
        raise NotFound(f"prediction {prediction_id!r} does not exist")
    classifier = session.get(Classifier, prediction.classifier_id)
    model = session.get(ModelVersion, prediction.model_version_id)
    assert classifier is not None and model is not None
    artifact = find_artifact(session, model_uri(classifier.name, model.version))
    return {
        "prediction": {
            "id": prediction.id,
            "classifier": classifier.name,
            "label": prediction.label,
            "confidence": prediction.confidence,
            "created_at": prediction.created_at.isoformat(),
        },
        "model": {
            "version": model.version,
            "family": model.family,
            "uri": model_uri(classifier.name, model.version),
        },
        "upstream": _upstream(session, artifact) if artifact else [],
    }


def dataset_lineage(session: Session, classifier_name: str, version: int) -> dict[str, Any]:
    classifier = get_classifier(session, classifier_name)
    artifact = find_artifact(session, dataset_uri(classifier.name, version))
    if artifact is None:
        raise NotFound(f"classifier {classifier_name!r} has no recorded dataset version {version}")
    return {"dataset": describe_artifact(artifact), "downstream": _downstream(session, artifact)}


def _upstream(session: Session, artifact: Artifact) -> list[dict[str, Any]]:
    """The runs that produced ``artifact``, each with its inputs' own upstream."""
    return _walk(session, artifact, ("output", "input"), ("inputs", "produced_by"), frozenset())


def _downstream(session: Session, artifact: Artifact) -> list[dict[str, Any]]:
    """The runs that consumed ``artifact``, each with its outputs' own downstream.

    A model is also consumed by the next training run that compared itself with it, so a
    dataset's downstream reaches every later model whose blessing it influenced.
    """
    return _walk(session, artifact, ("input", "output"), ("outputs", "consumed_by"), frozenset())


def _walk(
    session: Session,
    artifact: Artifact,
    kinds: tuple[str, str],
    keys: tuple[str, str],
    path: frozenset[int],
) -> list[dict[str, Any]]:
    """Runs linked to ``artifact`` as ``kinds[0]``, then their ``kinds[1]`` artifacts, onwards."""
    runs = []
    for execution in _executions(session, artifact.id, kinds[0]):
        if execution.id in path:
            continue
        items = [
            {
                **describe_artifact(item),
                keys[1]: _walk(session, item, kinds, keys, path | {execution.id}),
            }
            for item in run_artifacts(session, execution.id, kinds[1])
        ]
        runs.append({**describe_run(execution), keys[0]: items})
    return runs


def _executions(session: Session, artifact_id: int, kind: str) -> list[Execution]:
    return list(
        session.scalars(
            select(Execution)
            .join(Event, Event.execution_id == Execution.id)
            .where(Event.artifact_id == artifact_id, Event.kind == kind)
            .order_by(Execution.id)
        )
    )


def describe_artifact(artifact: Artifact) -> dict[str, Any]:
    return {
        "type": artifact.type,
        "uri": artifact.uri,
        "content_hash": artifact.content_hash,
        "properties": artifact.properties,
    }


def describe_run(execution: Execution) -> dict[str, Any]:
    return {
        "run": execution.id,
        "component": execution.component,
        "status": execution.status,
        "parameters": execution.parameters,
        "textloop_version": execution.textloop_version,
        "started_at": execution.started_at.isoformat(),
        "ended_at": execution.ended_at.isoformat() if execution.ended_at else None,
    }
