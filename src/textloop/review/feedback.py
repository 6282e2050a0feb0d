"""Explicit feedback: a user says a prediction (or a text's label) is wrong, and a task opens.

The feedback row and its review task are written in one transaction, which commits before the
HTTP response, so acknowledged feedback is never lost. A text given without a prediction is
scored by the production model before that transaction begins, never inside it. Feedback on a
prediction that already has an open explicit task is recorded and joins that task, so that five
reports of one prediction ask a reviewer once.

A multi-label classifier's feedback reports a label set (``labels``), stored canonical (sorted,
each name once, ``label_sets.encode``) as the feedback's label and the task's
``reported_label``. "No label applies" is the empty set, stored as ``""`` like any empty set
in a ``label`` column, so it stays apart from ``None``: the user said the answer is wrong and
gave no correction. The task never ticks the disputed set for the reviewer (the portal's
``label_set_choices``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.errors import InvalidRequest, NotFound
from textloop.predict.model_cache import ModelCache
from textloop.predict.outcome import Scored, scored, top_scores
from textloop.predict.predictor import DIRECT, Predictor
from textloop.registry.aliases import PRODUCTION
from textloop.review.labels import require_known_label
from textloop.review.pool import TOP_SCORES
from textloop.store.database import Store
from textloop.store.queries import aliased_model, get_classifier
from textloop.store.stored_labels import STORED_SEPARATOR, Mode, encode
from textloop.store.tables import (
    Classifier,
    Feedback,
    ModelVersion,
    Prediction,
    ReviewStatus,
    ReviewTask,
    TaskSource,
)


@dataclass(frozen=True)
class FeedbackReceipt:
    feedback_id: str
    review_task_id: str


def record_feedback(
    store: Store,
    cache: ModelCache,
    classifier_name: str,
    *,
    prediction_id: str | None = None,
    text: str | None = None,
    label: str | None = None,
    labels: Sequence[str] | None = None,
    api_key_id: int | None = None,
    predictor: Predictor = DIRECT,
) -> FeedbackReceipt:
    """Check the feedback, score a bare text outside any transaction, then write both rows.

    Three steps so that no transaction is open while the model runs: a short read (what the
    feedback is about), the scoring of a text that came without a prediction, and one short
    write that commits before this returns. ``label`` is a single-label classifier's
    correction, ``labels`` a multi-label one's (``[]``: no label applies); neither, none given.
    """
    suggested: str | None = None
    confidence: float | None = None
    scores: dict[str, float] | None = None
    version: ModelVersion | None = None
    with store.session() as session:
        classifier = get_classifier(session, classifier_name)
        classifier_id = classifier.id
        reported = reported_label(classifier, label, labels)
        if prediction_id is not None:
            prediction = session.get(Prediction, prediction_id)
            if prediction is None or prediction.classifier_id != classifier.id:
                raise NotFound(
                    f"prediction {prediction_id!r} does not exist for classifier "
                    f"{classifier_name!r}"
                )
            text, suggested, confidence = prediction.text, prediction.label, prediction.confidence
        elif text is None:
            raise InvalidRequest("give either prediction_id or text", field="text")
        else:
            version = aliased_model(session, classifier, PRODUCTION)
    if version is not None and text is not None:
        model = cache.get(version.id, version.artifact_uri)
        (answer,) = scored(model, predictor.predict(model, [text]))
        suggested, confidence, scores = answer.label, answer.confidence, task_scores(answer)
    assert text is not None
    with store.session() as session:
        return write_feedback(
            session,
            classifier_id,
            prediction_id,
            text,
            reported,
            api_key_id,
            suggested,
            confidence,
            scores,
        )


def reported_label(
    classifier: Classifier, label: str | None, labels: Sequence[str] | None
) -> str | None:
    """The correction as the store keeps it, or refused (``InvalidRequest`` naming the valid
    labels, or the key the classifier's mode takes); None when the user gave none."""
    sets = classifier.mode == Mode.MULTI_LABEL
    if label is not None and labels is not None:
        raise InvalidRequest('give "label" or "labels", not both', field="labels")
    if labels is not None:
        if not sets:
            raise InvalidRequest(
                f'{classifier.name!r} is single-label: give one "label"', field="labels"
            )
        for name in labels:
            if not name.strip():
                raise InvalidRequest("a label name is empty", field="labels")
            if STORED_SEPARATOR in name:  # it would store as two names
                raise InvalidRequest(
                    f"the label name {name!r} holds U+001F, which no label name may",
                    field="labels",
                )
        stored = encode(labels)  # "" for the empty set: no label applies
        require_known_label(classifier, stored)
        return stored
    if label is not None:
        if sets:
            raise InvalidRequest(
                f'{classifier.name!r} is multi-label: give "labels", the list of the labels '
                "that apply ([] when none does)",
                field="label",
            )
        require_known_label(classifier, label)
    return label


def task_scores(answer: Scored) -> dict[str, float]:
    """The model's scores a task keeps: a single label's best few (its alternatives), every
    label's for a set, since a set's task shows every label with its score."""
    return top_scores(answer.scores, TOP_SCORES if answer.labels is None else None)


def write_feedback(
    session: Session,
    classifier_id: int,
    prediction_id: str | None,
    text: str,
    label: str | None,
    api_key_id: int | None,
    suggested: str | None,
    confidence: float | None,
    scores: dict[str, float] | None,
) -> FeedbackReceipt:
    """The feedback row and its review task (or the open task already on that prediction)."""
    feedback = Feedback(
        classifier_id=classifier_id,
        prediction_id=prediction_id,
        text=text,
        label=label,
        api_key_id=api_key_id,
    )
    session.add(feedback)
    session.flush()
    if prediction_id is not None:  # more feedback on a prediction already under review
        open_task = session.scalar(
            select(ReviewTask).where(
                ReviewTask.prediction_id == prediction_id,
                ReviewTask.source == TaskSource.EXPLICIT,
                ReviewTask.status == ReviewStatus.OPEN,
            )
        )
        if open_task is not None:
            return FeedbackReceipt(feedback_id=feedback.id, review_task_id=open_task.id)
    task = ReviewTask(
        classifier_id=classifier_id,
        source=TaskSource.EXPLICIT,
        status=ReviewStatus.OPEN,
        text=text,
        suggested_label=suggested,
        confidence=confidence,
        scores=scores,
        reported_label=label,
        prediction_id=prediction_id,
        feedback_id=feedback.id,
    )
    session.add(task)
    session.flush()
    return FeedbackReceipt(feedback_id=feedback.id, review_task_id=task.id)
