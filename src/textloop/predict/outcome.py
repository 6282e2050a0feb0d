"""What a row of probabilities means: the label, its confidence, the ranked scores, and whether a
person should look at it. Decided once here for every caller.

A multi-label model's row means a set: the labels reaching their own thresholds, possibly none,
and as its confidence the probability that this whole set is right (``set_confidence``), so that
"confidence below the classifier's threshold" sends the doubtful answers of both modes to review.
A single-label answer the model's detector finds out of scope keeps its nearest label (and its
confidence and scores), marked ``out_of_scope``: callers are told no label, and a person looks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from textloop.data.label_sets import encode
from textloop.models.label_thresholds import predicted_sets, set_confidence
from textloop.models.multi_label import is_multi_label


@dataclass(frozen=True)
class Scored:
    label: str  # a label set's stored form (``label_sets.encode``) for a multi-label model
    confidence: float
    scores: dict[str, float]
    labels: tuple[str, ...] | None = None  # a multi-label model's answer; None otherwise
    # fits none of the labels (``label`` is the nearest one); None: not asked, as before
    out_of_scope: bool | None = None


def scored(
    model: Any, probabilities: np.ndarray, out_of_scope: np.ndarray | None = None
) -> list[Scored]:
    """What ``model``'s probability rows answer, in either mode; ``out_of_scope`` marks the
    rows its detector sent aside (``Predictor.answer``)."""
    if is_multi_label(model):
        return to_scored_sets(probabilities, model.classes_, model.thresholds_)
    answered = to_scored(probabilities, model.classes_)
    if out_of_scope is None:
        return answered
    return [
        replace(item, out_of_scope=bool(aside))
        for item, aside in zip(answered, out_of_scope.tolist(), strict=True)
    ]


def to_scored_sets(
    probabilities: np.ndarray, classes: Sequence[str], thresholds: np.ndarray
) -> list[Scored]:
    confidence = set_confidence(probabilities, thresholds).tolist()
    return [
        Scored(
            label=encode(labels),
            confidence=sure,
            scores=dict(zip(classes, row.tolist(), strict=True)),
            labels=labels,
        )
        for row, sure, labels in zip(
            probabilities,
            confidence,
            predicted_sets(probabilities, classes, thresholds),
            strict=True,
        )
    ]


def to_scored(probabilities: np.ndarray, classes: Sequence[str]) -> list[Scored]:
    scored = []
    for row in probabilities:
        best = int(row.argmax())
        values = row.tolist()  # Python floats at once: cheaper than one conversion per class
        scored.append(
            Scored(
                label=classes[best],
                confidence=values[best],
                scores=dict(zip(classes, values, strict=True)),
            )
        )
    return scored


def top_scores(scores: dict[str, float], k: int | None = None) -> dict[str, float]:
    """The ``k`` highest scores (all when None), highest first: what a reviewer or a client is
    shown of a prediction."""
    ranked = sorted(scores.items(), key=lambda item: -float(item[1]))
    return dict(ranked if k is None else ranked[:k])


def needs_review(confidence: float, threshold: float) -> bool:
    """An answer less sure than the classifier's threshold goes to a person (implicit feedback)."""
    return confidence < threshold
