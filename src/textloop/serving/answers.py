"""How a prediction reads in an API answer: every score at full precision, only the top ``k``
when asked. A multi-label classifier answers ``labels`` (the set, possibly empty) where a
single-label one answers ``label``.

Nothing is rounded: a version's answer over HTTP is the number the CLI, a batch job, the notebook,
an exported bundle and the MLflow model give for the same text, so a client can compare them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from textloop.predict.outcome import top_scores
from textloop.predict.records import PredictionResult
from textloop.serving.schemas import ReviewTaskPublic
from textloop.store.stored_labels import Mode, decode
from textloop.store.tables import Classifier, ReviewStatus, ReviewTask


def public_prediction(result: PredictionResult, top_k: int | None = None) -> dict[str, Any]:
    """``result`` as JSON-ready fields; ``top_k`` keeps the highest scores, highest first. An
    answer out of scope has ``"label": null`` (the nearest label leads ``scores``); where the
    classifier does not answer so, ``out_of_scope`` is left out, as it always was."""
    scores = result.scores if top_k is None else top_scores(result.scores, top_k)
    if result.labels is not None:
        answer: dict[str, Any] = {"labels": list(result.labels)}
    else:
        answer = {"label": None if result.out_of_scope else result.label}
    if result.out_of_scope is not None:
        answer["out_of_scope"] = result.out_of_scope
    return {
        **answer,
        "confidence": result.confidence,
        "scores": scores,
        "model_version": result.model_version,
        "prediction_id": result.prediction_id,
        "review": result.review,
    }


def public_task(session: Session, task: ReviewTask) -> ReviewTaskPublic:
    """A review task as the API shows it; a multi-label classifier's carries its sets as lists
    (``suggested_labels``, ``reported_labels``, ``final_labels``), never in the form the store
    keeps them."""
    public = ReviewTaskPublic.model_validate(task)
    classifier = session.get(Classifier, task.classifier_id)
    if classifier is None or classifier.mode != Mode.MULTI_LABEL:
        return public
    settled = task.status == ReviewStatus.DONE
    return public.model_copy(
        update={
            "suggested_label": None,
            "final_label": None,
            "reported_label": None,
            "reported_labels": None  # no correction given
            if task.reported_label is None
            else list(decode(task.reported_label)),
            "suggested_labels": None
            if task.suggested_label is None
            else list(decode(task.suggested_label)),
            "final_labels": list(decode(task.final_label or "")) if settled else None,
        }
    )
