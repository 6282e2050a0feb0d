"""Explicit feedback: a user says a prediction (or a text's label) is wrong, and a task opens.

The feedback row and its review task are written in one transaction, which commits before the
HTTP response, so acknowledged feedback is never lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from textloop.errors import InvalidRequest, NotFound
from textloop.registry.models import PRODUCTION
from textloop.review.labels import require_known_label
from textloop.serving.inference import score_texts
from textloop.serving.model_cache import ModelCache
from textloop.store.queries import aliased_model, get_classifier
from textloop.store.tables import Feedback, Prediction, ReviewTask


@dataclass(frozen=True)
class FeedbackReceipt:
    feedback_id: str
    review_task_id: str


def record_feedback(
    session: Session,
    cache: ModelCache,
    classifier_name: str,
    *,
    prediction_id: str | None = None,
    text: str | None = None,
    label: str | None = None,
    api_key_id: int | None = None,
) -> FeedbackReceipt:
    classifier = get_classifier(session, classifier_name)
    if label is not None:
        require_known_label(classifier, label)
    suggested: str | None = None
    confidence: float | None = None
    if prediction_id is not None:
        prediction = session.get(Prediction, prediction_id)
        if prediction is None or prediction.classifier_id != classifier.id:
            raise NotFound(
                f"prediction {prediction_id!r} does not exist for classifier {classifier_name!r}"
            )
        text, suggested, confidence = prediction.text, prediction.label, prediction.confidence
    elif text is not None and aliased_model(session, classifier, PRODUCTION) is not None:
        _, (scored,) = score_texts(session, cache, classifier, [text])
        suggested, confidence = scored.label, scored.confidence
    if text is None:
        raise InvalidRequest("give either prediction_id or text", field="text")

    feedback = Feedback(
        classifier_id=classifier.id,
        prediction_id=prediction_id,
        text=text,
        label=label,
        api_key_id=api_key_id,
    )
    session.add(feedback)
    session.flush()
    task = ReviewTask(
        classifier_id=classifier.id,
        source="explicit",
        status="open",
        text=text,
        suggested_label=suggested,
        confidence=confidence,
        reported_label=label,
        prediction_id=prediction_id,
        feedback_id=feedback.id,
    )
    session.add(task)
    session.flush()
    return FeedbackReceipt(feedback_id=feedback.id, review_task_id=task.id)
