"""Writes the metadata graph: artifacts by URI, executions, and input/output events between them.

URIs name what an artifact is, not where its bytes live: ``textloop://<classifier>/datasets/3``,
``textloop://<classifier>/models/2``, ``textloop://<classifier>/deployments/7``; the outputs of
pipeline steps are named by their content, ``textloop://<classifier>/<type>/<hash prefix>``.
Recording an artifact twice under one URI returns the first record. Executions are grouped in
contexts: one pipeline run each.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from textloop import __version__
from textloop.store.tables import (
    Artifact,
    Context,
    Event,
    Execution,
    ExecutionStatus,
    RunStatus,
    utcnow,
)


def dataset_uri(classifier: str, version: int) -> str:
    return f"textloop://{classifier}/datasets/{version}"


def model_uri(classifier: str, version: int) -> str:
    return f"textloop://{classifier}/models/{version}"


def batch_job_uri(classifier: str, batch_id: str) -> str:
    return f"textloop://{classifier}/batch-jobs/{batch_id}"


def content_uri(classifier: str, type_: str, content_hash: str) -> str:
    return f"textloop://{classifier}/{type_}/{content_hash[:16]}"


def open_context(
    session: Session, classifier_id: int | None, name: str, parameters: dict[str, Any]
) -> Context:
    """Start a pipeline run; its executions point at it and ``close_context`` ends it."""
    context = Context(classifier_id=classifier_id, name=name, parameters=parameters)
    session.add(context)
    session.flush()
    return context


def close_context(
    session: Session, context_id: int, status: RunStatus, error: str | None = None
) -> None:
    context = session.get(Context, context_id)
    if context is not None:
        context.status, context.error, context.ended_at = status, error, utcnow()


def discard_context(session: Session, context_id: int) -> None:
    """Forget a run that was refused as bad input, and the artifacts only it mentioned."""
    executions = select(Execution.id).where(Execution.context_id == context_id)
    mentioned = set(
        session.scalars(select(Event.artifact_id).where(Event.execution_id.in_(executions)))
    )
    session.execute(delete(Event).where(Event.execution_id.in_(executions)))
    session.execute(delete(Execution).where(Execution.context_id == context_id))
    session.execute(delete(Context).where(Context.id == context_id))
    still_used = set(
        session.scalars(select(Event.artifact_id).where(Event.artifact_id.in_(mentioned)))
    )
    if mentioned - still_used:
        session.execute(delete(Artifact).where(Artifact.id.in_(mentioned - still_used)))


def record_artifact(
    session: Session,
    classifier_id: int | None,
    type_: str,
    uri: str,
    content_hash: str | None = None,
    properties: dict[str, Any] | None = None,
) -> Artifact:
    existing = find_artifact(session, uri)
    if existing is not None:
        return existing
    artifact = Artifact(
        classifier_id=classifier_id,
        type=type_,
        uri=uri,
        content_hash=content_hash,
        properties=properties or {},
    )
    session.add(artifact)
    session.flush()
    return artifact


def record_execution(
    session: Session,
    classifier_id: int | None,
    component: str,
    parameters: dict[str, Any],
    started_at: datetime,
    inputs: Sequence[Artifact] = (),
    outputs: Sequence[Artifact] = (),
    status: ExecutionStatus = ExecutionStatus.SUCCEEDED,
    error: str | None = None,
    cache_key: str | None = None,
    context_id: int | None = None,
) -> Execution:
    execution = Execution(
        classifier_id=classifier_id,
        component=component,
        textloop_version=__version__,
        parameters=parameters,
        status=status,
        error=error,
        cache_key=cache_key,
        context_id=context_id,
        started_at=started_at,
        ended_at=utcnow(),
    )
    session.add(execution)
    session.flush()
    for kind, artifacts in (("input", inputs), ("output", outputs)):
        for artifact in {a.id: a for a in artifacts}.values():
            session.add(Event(execution_id=execution.id, artifact_id=artifact.id, kind=kind))
    session.flush()
    return execution


def find_artifact(session: Session, uri: str) -> Artifact | None:
    return session.scalar(select(Artifact).where(Artifact.uri == uri))


def cache_key(
    component: str, parameters: dict[str, Any], input_hashes: Sequence[str | None]
) -> str:
    """What decides a step's outputs: its code version, its parameters and its inputs' content."""
    payload = json.dumps(
        {
            "component": component,
            "textloop_version": __version__,
            "parameters": parameters,
            "inputs": list(input_hashes),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def cached_execution(
    session: Session, classifier_id: int | None, key: str
) -> tuple[Execution, list[Artifact]] | None:
    """The classifier's newest successful execution with this cache key, and its outputs."""
    execution = session.scalar(
        select(Execution)
        .where(
            Execution.classifier_id == classifier_id,
            Execution.cache_key == key,
            Execution.status == ExecutionStatus.SUCCEEDED,
        )
        .order_by(Execution.id.desc())
        .limit(1)
    )
    if execution is None:
        return None
    return execution, run_artifacts(session, execution.id, "output")


def run_artifacts(session: Session, execution_id: int, kind: str) -> list[Artifact]:
    return list(
        session.scalars(
            select(Artifact)
            .join(Event, Event.artifact_id == Artifact.id)
            .where(Event.execution_id == execution_id, Event.kind == kind)
            .order_by(Artifact.id)
        )
    )
