"""Reading recorded executions: the newest runs of a classifier, and one run in full."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.errors import NotFound
from textloop.metadata.lineage import describe_artifact, describe_run
from textloop.metadata.recorder import run_artifacts
from textloop.store.queries import get_classifier
from textloop.store.tables import Classifier, Execution


def list_runs(session: Session, classifier_name: str, limit: int = 20) -> list[dict[str, Any]]:
    classifier = get_classifier(session, classifier_name)
    executions = session.scalars(
        select(Execution)
        .where(Execution.classifier_id == classifier.id)
        .order_by(Execution.id.desc())
        .limit(limit)
    )
    return [describe_run(execution) for execution in executions]


def show_run(session: Session, run_id: int) -> dict[str, Any]:
    execution = session.get(Execution, run_id)
    if execution is None:
        raise NotFound(f"run {run_id} does not exist")
    classifier = (
        session.get(Classifier, execution.classifier_id) if execution.classifier_id else None
    )
    seconds = (
        (execution.ended_at - execution.started_at).total_seconds() if execution.ended_at else None
    )
    return {
        **describe_run(execution),
        "classifier": classifier.name if classifier else None,
        "seconds": seconds,
        "error": execution.error,
        "inputs": [describe_artifact(a) for a in run_artifacts(session, execution.id, "input")],
        "outputs": [describe_artifact(a) for a in run_artifacts(session, execution.id, "output")],
    }
