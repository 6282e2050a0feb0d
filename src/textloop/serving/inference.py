"""Classify texts with a classifier's production model, store every prediction, open review tasks.

What a prediction stores is decided here once (``records``) for the HTTP API and the CLI alike: a
prediction whose confidence is below the classifier's threshold becomes an ``implicit`` review
task stored with it. The CLI stores them in its own transaction (``classify``); the server
hands them to its ``PredictionLog``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import insert
from sqlalchemy.orm import Session

from textloop.errors import NotFound
from textloop.registry.models import PRODUCTION
from textloop.serving.model_cache import ModelCache
from textloop.store.database import Store
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


def top_scores(scores: dict[str, float], k: int | None = None) -> dict[str, float]:
    """The ``k`` highest scores (all when None), highest first: what a reviewer or a client is
    shown of a prediction."""
    ranked = sorted(scores.items(), key=lambda item: -float(item[1]))
    return dict(ranked if k is None else ranked[:k])


def to_scored(probabilities: np.ndarray, classes: Sequence[str]) -> list[Scored]:
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
    return scored


@dataclass(frozen=True)
class Records:
    """What answering some texts stores: predictions, the review tasks of unsure ones, and
    what the caller is told."""

    predictions: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    results: list[PredictionResult]


def records(
    classifier_id: int,
    threshold: float,
    model_version_id: int,
    model_version: int,
    texts: Sequence[str],
    scored: Sequence[Scored],
) -> Records:
    now = utcnow()
    out = Records([], [], [])
    for text, item in zip(texts, scored, strict=True):
        prediction_id = new_id()
        review = item.confidence < threshold
        out.predictions.append(
            {
                "id": prediction_id,
                "classifier_id": classifier_id,
                "model_version_id": model_version_id,
                "text": text,
                "label": item.label,
                "confidence": item.confidence,
                "scores": item.scores,
                "created_at": now,
            }
        )
        if review:
            out.tasks.append(
                {
                    "id": new_id(),
                    "classifier_id": classifier_id,
                    "source": "implicit",
                    "status": "open",
                    "text": text,
                    "suggested_label": item.label,
                    "confidence": item.confidence,
                    "prediction_id": prediction_id,
                    "created_at": now,
                }
            )
        out.results.append(
            PredictionResult(
                label=item.label,
                confidence=item.confidence,
                scores=item.scores,
                model_version=model_version,
                prediction_id=prediction_id,
                review=review,
            )
        )
    return out


def classify(
    store: Store, cache: ModelCache, classifier_name: str, texts: Sequence[str]
) -> list[PredictionResult]:
    """Classify and store (the CLI; the server uses ``online``): the model runs between two
    short transactions, never inside one."""
    with store.session() as session:
        classifier = get_classifier(session, classifier_name)
        classifier_id, threshold = classifier.id, classifier.threshold
        version = production_model(session, classifier)
    model = cache.get(version.id, version.artifact_uri)
    scored = to_scored(model.predict_proba(list(texts)), model.classes_)
    done = records(classifier_id, threshold, version.id, version.version, texts, scored)
    with store.session() as session:
        session.execute(insert(Prediction), done.predictions)
        if done.tasks:
            session.execute(insert(ReviewTask), done.tasks)
    return done.results
