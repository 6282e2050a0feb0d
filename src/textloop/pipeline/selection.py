"""Choosing among fitted candidates on validation, including their weighted ensemble."""

from __future__ import annotations

from typing import Any

import numpy as np

from textloop.models.ensemble import EnsembleClassifier
from textloop.pipeline.evaluation import headline

WEIGHT_GRID = [round(0.1 * step, 1) for step in range(1, 10)]


def weighted_ensemble(
    models: list[Any], texts: list[str], labels: list[str]
) -> tuple[EnsembleClassifier, dict[str, float]]:
    """The ensemble of already fitted ``models`` whose weights score best on validation.

    Two members get a grid of weights; more get equal weights. Member predictions are computed
    once and recombined, so the search costs no extra inference.
    """
    equal = EnsembleClassifier.from_fitted(models, [1.0] * len(models))
    classes = equal.classes_
    aligned = []
    for model in models:
        probabilities = np.zeros((len(texts), len(classes)))
        probabilities[:, [classes.index(c) for c in model.classes_]] = model.predict_proba(texts)
        aligned.append(probabilities)
    grid = [[w, 1 - w] for w in WEIGHT_GRID] if len(models) == 2 else [[1.0] * len(models)]
    best: tuple[tuple[float, ...], list[float]] | None = None
    for weights in grid:
        combined = sum(w * p for w, p in zip(weights, aligned, strict=True))
        score = headline(labels, np.asarray(combined), classes)
        key = (score["accuracy"], score["macro_f1"])
        if best is None or key > best[0]:
            best = (key, weights)
    assert best is not None
    (accuracy, macro_f1), weights = best
    score = {"accuracy": accuracy, "macro_f1": macro_f1}
    return EnsembleClassifier.from_fitted(models, weights), score
