"""Reading recorded runs: the newest runs of a classifier, and one run as its DAG of steps.

A run is a context; its steps are the executions in it. A step's upstream steps are the steps
of the same run that produced an artifact it consumed, which is how the DAG is drawn back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from textloop.errors import NotFound
from textloop.metadata.lineage import describe_artifact, describe_context
from textloop.metadata.recorder import run_artifacts
from textloop.store.queries import get_classifier
from textloop.store.tables import Classifier, Context, Execution, ExecutionStatus


def list_runs(session: Session, classifier_name: str, limit: int = 20) -> list[dict[str, Any]]:
    classifier = get_classifier(session, classifier_name)
    contexts = list(
        session.scalars(
            select(Context)
            .where(Context.classifier_id == classifier.id)
            .order_by(Context.id.desc())
            .limit(limit)
        )
    )
    counts = dict(
        session.execute(
            select(Execution.context_id, func.count())
            .where(
                Execution.context_id.in_([c.id for c in contexts]),
                Execution.status == ExecutionStatus.CACHED,
            )
            .group_by(Execution.context_id)
        ).all()
    )
    return [{**describe_context(c), "cached_steps": counts.get(c.id, 0)} for c in contexts]


def show_run(session: Session, run_id: int, classifier: str | None = None) -> dict[str, Any]:
    """Run ``run_id``; when ``classifier`` is given, only if the run is that classifier's."""
    context = session.get(Context, run_id)
    owner = (
        session.get(Classifier, context.classifier_id)
        if context and context.classifier_id
        else None
    )
    if context is None or (classifier is not None and (owner is None or owner.name != classifier)):
        where = f" of classifier {classifier!r}" if classifier is not None else ""
        raise NotFound(f"run {run_id}{where} does not exist")
    executions = list(
        session.scalars(
            select(Execution).where(Execution.context_id == context.id).order_by(Execution.id)
        )
    )
    producers: dict[int, str] = {}
    steps = []
    for execution in executions:
        inputs = run_artifacts(session, execution.id, "input")
        outputs = run_artifacts(session, execution.id, "output")
        steps.append(
            {
                "step": execution.component,
                "execution": execution.id,
                "status": execution.status,
                "seconds": _seconds(execution.started_at, execution.ended_at),
                "after": sorted({producers[a.id] for a in inputs if a.id in producers}),
                "parameters": execution.parameters,
                "error": execution.error,
                "inputs": [describe_artifact(a) for a in inputs],
                "outputs": [describe_artifact(a) for a in outputs],
            }
        )
        # An importer produces nothing new: what it names counts as its output here.
        producers.update({a.id: execution.component for a in outputs or inputs})
    return {
        **describe_context(context),
        "classifier": owner.name if owner else None,
        "steps": steps,
    }


def _seconds(started: Any, ended: Any) -> float | None:
    return (ended - started).total_seconds() if ended is not None else None
