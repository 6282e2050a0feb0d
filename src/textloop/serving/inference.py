"""Classify texts with a classifier's production model, store every prediction, open review tasks.

This is the one path from text to stored prediction, shared by the HTTP API and the CLI. A
prediction whose confidence is below the classifier's threshold becomes an ``implicit`` review
task in the same transaction, so a caller never sees a prediction that was not recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.orm import Session

from textloop.errors import NotFound
from textloop.registry.models import PRODUCTION
from textloop.serving.model_cache import ModelCache
from textloop.store.queries import aliased_model, get_classifier
from textloop.store.tables import Classifier, ModelVersion, Prediction, ReviewTask, new_id, utcnow


@dataclass(frozen=True)
class PredictionResult:
    label: str
    confidence: float
    scores: dict[str, float]
    model_version: int
    prediction_id: str
    review: bool


@dataclass(frozen=True)
class Scored:
    label: str
    confidence: float
    scores: dict[str, float]


def production_model(session: Session, classifier: Classifier) -> ModelVersion:
    model = aliased_model(session, classifier, PRODUCTION)
    if model is None:
        raise NotFound(
            f"classifier {classifier.name!r} has no deployed model; "
            f"run `textloop deploy {classifier.name}`"
        )
    return model


def score_texts(
    session: Session, cache: ModelCache, classifier: Classifier, texts: Sequence[str]
) -> tuple[ModelVersion, list[Scored]]:
    """Run the production model without recording anything."""
    version = production_model(session, classifier)
    model = cache.get(version.id, version.artifact_uri)
    probabilities = model.predict_proba(list(texts))
    classes = list(model.classes_)
    scored = []
    for row in probabilities:
        best = int(row.argmax())
        scored.append(
            Scored(
                label=classes[best],
                confidence=float(row[best]),
                scores={label: float(p) for label, p in zip(classes, row, strict=True)},
            )
        )
    return version, scored


def classify(
    session: Session, cache: ModelCache, classifier_name: str, texts: Sequence[str]
) -> list[PredictionResult]:
    classifier = get_classifier(session, classifier_name)
    version, scored = score_texts(session, cache, classifier, texts)
    now = utcnow()
    predictions, tasks, results = [], [], []
    for text, item in zip(texts, scored, strict=True):
        prediction_id = new_id()
        review = item.confidence < classifier.threshold
        predictions.append(
            {
                "id": prediction_id,
                "classifier_id": classifier.id,
                "model_version_id": version.id,
                "text": text,
                "label": item.label,
                "confidence": item.confidence,
                "scores": item.scores,
                "created_at": now,
            }
        )
        if review:
            tasks.append(
                {
                    "id": new_id(),
                    "classifier_id": classifier.id,
                    "source": "implicit",
                    "status": "open",
                    "text": text,
                    "suggested_label": item.label,
                    "confidence": item.confidence,
                    "prediction_id": prediction_id,
                    "created_at": now,
                }
            )
        results.append(
            PredictionResult(
                label=item.label,
                confidence=item.confidence,
                scores=item.scores,
                model_version=version.version,
                prediction_id=prediction_id,
                review=review,
            )
        )
    session.execute(insert(Prediction), predictions)
    if tasks:
        session.execute(insert(ReviewTask), tasks)
    return results
