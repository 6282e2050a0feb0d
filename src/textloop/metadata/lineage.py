"""Walks the metadata graph in both directions.

Upstream of a prediction: the model version that made it, the pipeline run whose ``push`` step
registered it, the dataset versions that run trained on, and the graph of steps behind it (the
production model it was compared with is named, not expanded). Downstream of a dataset version:
every model trained on it, every run that consumed it, and the graph of what those steps
produced, onwards to the models' deployments. Each artifact is expanded once; later mentions
carry ``"repeated": true``. Cached executions add no new artifacts and are skipped. A
prediction of a multi-label classifier says its ``labels`` (the set, possibly empty) where a
single-label one says its ``label``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.errors import NotFound
from textloop.metadata.recorder import (
    batch_job_uri,
    dataset_uri,
    find_artifact,
    model_uri,
    run_artifacts,
)
from textloop.store.queries import get_classifier
from textloop.store.stored_labels import Mode, decode
from textloop.store.tables import (
    Artifact,
    BatchJob,
    Classifier,
    Context,
    Event,
    Execution,
    ExecutionStatus,
    ModelVersion,
    Prediction,
)


def prediction_lineage(session: Session, prediction_id: str) -> dict[str, Any]:
    prediction = session.get(Prediction, prediction_id)
    if prediction is None:
        raise NotFound(f"prediction {prediction_id!r} does not exist")
    classifier = session.get(Classifier, prediction.classifier_id)
    assert classifier is not None
    history, artifact = _model_history(session, classifier, prediction.model_version_id)
    answer: dict[str, Any] = (
        {"labels": list(decode(prediction.label))}
        if classifier.mode == Mode.MULTI_LABEL
        else {"label": prediction.label}
    )
    if prediction.out_of_scope:  # answered as the caller saw it: no label, the nearest kept
        answer = {"label": None, "out_of_scope": True, "nearest_label": prediction.label}
    return {
        "prediction": {
            "id": prediction.id,
            "classifier": classifier.name,
            **answer,
            "confidence": prediction.confidence,
            "created_at": prediction.created_at.isoformat(),
        },
        **history,
        "upstream": _upstream(session, artifact) if artifact else [],
    }


def _model_history(
    session: Session, classifier: Classifier, model_version_id: int
) -> tuple[dict[str, Any], Artifact | None]:
    """A model version, the run that registered it and the data it was trained on (for a
    lineage that ends in that model), and its artifact."""
    model = session.get(ModelVersion, model_version_id)
    assert model is not None
    artifact = find_artifact(session, model_uri(classifier.name, model.version))
    producers = _executions(session, artifact.id, "output") if artifact else []
    context = session.get(Context, producers[0].context_id) if producers else None
    history = {
        "model": {
            "version": model.version,
            "family": model.family,
            "uri": model_uri(classifier.name, model.version),
        },
        "run": describe_context(context) if context else None,
        "datasets": _datasets_of_run(session, context) if context else [],
    }
    return history, artifact


def batch_lineage(session: Session, batch_id: str) -> dict[str, Any]:
    """A batch job's output back to its input (with its content hash) and the model that
    scored it, and that model back to its run and training data."""
    batch = session.get(BatchJob, batch_id)
    if batch is None:
        raise NotFound(f"batch job {batch_id!r} does not exist")
    classifier = session.get(Classifier, batch.classifier_id)
    assert classifier is not None
    history, _ = _model_history(session, classifier, batch.model_version_id)
    output = find_artifact(session, batch_job_uri(classifier.name, batch_id))
    return {
        "batch_job": {
            "id": batch.id,
            "classifier": classifier.name,
            "status": batch.status,
            "input": batch.input_path,
            "input_hash": batch.input_hash,
            "output": describe_artifact(output) if output else None,
        },
        **history,
        "upstream": _upstream(session, output) if output else [],
    }


def dataset_lineage(session: Session, classifier_name: str, version: int) -> dict[str, Any]:
    classifier = get_classifier(session, classifier_name)
    artifact = find_artifact(session, dataset_uri(classifier.name, version))
    if artifact is None:
        raise NotFound(f"classifier {classifier_name!r} has no recorded dataset version {version}")
    models = session.scalars(
        select(ModelVersion)
        .where(
            ModelVersion.classifier_id == classifier.id,
            ModelVersion.dataset_version_id == artifact.properties.get("dataset_version_id"),
        )
        .order_by(ModelVersion.version)
    )
    consumers = (
        select(Execution.context_id)
        .join(Event, Event.execution_id == Execution.id)
        .where(Event.artifact_id == artifact.id, Event.kind == "input")
    )
    runs = session.scalars(select(Context).where(Context.id.in_(consumers)).order_by(Context.id))
    return {
        "dataset": describe_artifact(artifact),
        "models": [
            {
                "version": model.version,
                "uri": model_uri(classifier.name, model.version),
                "family": model.family,
                "blessed": bool((model.blessing or {}).get("blessed")),
            }
            for model in models
        ],
        "runs": [describe_context(context) for context in runs],
        "downstream": _downstream(session, artifact),
    }


def _datasets_of_run(session: Session, context: Context) -> list[dict[str, Any]]:
    """The dataset versions the run's steps consumed (the one it trained on)."""
    consumed = (
        select(Event.artifact_id)
        .join(Execution, Execution.id == Event.execution_id)
        .where(Execution.context_id == context.id)
    )
    artifacts = session.scalars(
        select(Artifact)
        .where(Artifact.id.in_(consumed), Artifact.type == "dataset")
        .order_by(Artifact.id)
    )
    return [describe_artifact(artifact) for artifact in artifacts]


def _upstream(session: Session, artifact: Artifact) -> list[dict[str, Any]]:
    """The step that produced ``artifact``, with its inputs' own upstream.

    Another model met on the way (the production model a candidate was blessed against) is
    named but not expanded: its history is its own, and expanding it would reach every earlier
    version.
    """

    def expand(item: Artifact, execution: Execution) -> bool:
        return item.type != "model"

    return _walk(session, artifact, ("output", "input"), ("inputs", "produced_by"), expand, set())


def _downstream(session: Session, artifact: Artifact) -> list[dict[str, Any]]:
    """The steps that consumed ``artifact``, each with its outputs' own downstream.

    From a model only its deployments are followed, not the later runs that compared a
    candidate with it, so the graph ends at the models trained on the data and where they went.
    """

    def expand(item: Artifact, execution: Execution) -> bool:
        return True

    def follow(item: Artifact, execution: Execution) -> bool:
        return item.type != "model" or execution.component == "deploy"

    return _walk(
        session, artifact, ("input", "output"), ("outputs", "consumed_by"), expand, set(), follow
    )


Rule = Callable[[Artifact, Execution], bool]


def _walk(
    session: Session,
    artifact: Artifact,
    kinds: tuple[str, str],
    keys: tuple[str, str],
    expand: Rule,
    seen: set[int],
    follow: Rule | None = None,
    context: int | None = None,
) -> list[dict[str, Any]]:
    """Steps linked to ``artifact`` as ``kinds[0]``, then their ``kinds[1]`` artifacts, onwards.

    ``follow`` says which steps to take from an artifact, ``expand`` which artifacts to walk on.
    """
    seen.add(artifact.id)
    runs = []
    for execution in _linked(session, artifact, kinds[0], context, follow):
        items = []
        for item in run_artifacts(session, execution.id, kinds[1]):
            if item.id in seen:
                items.append({**describe_artifact(item), keys[1]: [], "repeated": True})
            elif not expand(item, execution):
                items.append({**describe_artifact(item), keys[1]: [], "expanded": False})
            else:
                onwards = _walk(
                    session, item, kinds, keys, expand, seen, follow, execution.context_id
                )
                items.append({**describe_artifact(item), keys[1]: onwards})
        runs.append({**describe_run(execution), keys[0]: items})
    return runs


def _linked(
    session: Session, artifact: Artifact, kind: str, context: int | None, follow: Rule | None
) -> list[Execution]:
    """The steps to walk to from ``artifact``, reached from a step of run ``context``.

    An artifact shared by many runs (the same schema, the same splits) links to steps of all of
    them; past the starting artifact the walk keeps to the run it came from, so one run's lineage
    does not pull in every other. Upstream, an artifact made outside the run (a dataset, by its
    ingest) is traced to its first producer. Cached steps made nothing new and are skipped.
    """
    linked = [
        e for e in _executions(session, artifact.id, kind) if e.status != ExecutionStatus.CACHED
    ]
    if follow is not None:
        linked = [e for e in linked if follow(artifact, e)]
    if context is None:
        return linked
    same_run = [e for e in linked if e.context_id == context]
    if kind == "output":
        return same_run or linked[:1]
    return same_run + [e for e in linked if e.context_id != context and e.component == "deploy"]


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
        "execution": execution.id,
        "run": execution.context_id,
        "component": execution.component,
        "status": execution.status,
        "parameters": execution.parameters,
        "textloop_version": execution.textloop_version,
        "started_at": execution.started_at.isoformat(),
        "ended_at": execution.ended_at.isoformat() if execution.ended_at else None,
    }


def describe_context(context: Context) -> dict[str, Any]:
    return {
        "run": context.id,
        "pipeline": context.name,
        "status": context.status,
        "parameters": context.parameters,
        "error": context.error,
        "started_at": context.started_at.isoformat(),
        "ended_at": context.ended_at.isoformat() if context.ended_at else None,
        "seconds": (
            (context.ended_at - context.started_at).total_seconds() if context.ended_at else None
        ),
    }
