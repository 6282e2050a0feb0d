"""What a row of probabilities means: the label, its confidence, the ranked scores, and whether a
person should look at it. Decided once here for every caller."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scored:
    label: str
    confidence: float
    scores: dict[str, float]


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
