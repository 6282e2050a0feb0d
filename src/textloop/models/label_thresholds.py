"""From independent per-label probabilities to a label set: one decision threshold per label.

A multi-label model's ``predict_proba`` gives each label its own probability (an ``(n, L)``
array, columns in ``classes`` order), and a text's answer is the set of labels whose probability
reaches that label's threshold; the empty set ("no label applies") is an answer like any other.
One threshold of 0.5 for all labels serves them badly: labels have very different base rates,
and a model trained on few positives of a rare label rarely gives that label more than 0.5, so
the label would almost never be answered. Each label's threshold is therefore chosen on the
validation split to maximise that label's F1, and stored with the model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from textloop.models.shared_predict import set_confidence as shared_set_confidence

DEFAULT_THRESHOLD = 0.5
THRESHOLD_FLOOR = 0.05


def choose_thresholds(
    truth: np.ndarray, probabilities: np.ndarray, floor: float = THRESHOLD_FLOOR
) -> np.ndarray:
    """Each label's threshold: the one that maximises its F1 on validation.

    ``truth`` is the ``(n, L)`` 0/1 indicator matrix of the validation sets
    (``label_heads.indicators``),
    ``probabilities`` the model's ``(n, L)`` probabilities for the same texts. The candidates
    are 0.5 and every distinct probability of the label at or above ``floor``; a threshold below
    the floor would answer a label on near-certain negatives, which a small validation split can
    make look good by chance. Among equally good candidates the one nearest 0.5 wins (the higher
    one of two as near), so a threshold moves away from 0.5 only when that raises validation F1.
    """
    truth = np.asarray(truth)
    probabilities = np.asarray(probabilities, dtype=float)
    if truth.shape != probabilities.shape or probabilities.ndim != 2:
        raise ValueError(
            f"truth {truth.shape} and probabilities {probabilities.shape} must be (n, L) alike"
        )
    if not 0.0 <= floor <= DEFAULT_THRESHOLD:
        raise ValueError(f"floor {floor} must lie between 0 and {DEFAULT_THRESHOLD}")
    positive = truth.astype(bool)
    return np.array(
        [
            _best_threshold(positive[:, j], probabilities[:, j], floor)
            for j in range(probabilities.shape[1])
        ],
        dtype=float,
    )


def _best_threshold(positive: np.ndarray, probability: np.ndarray, floor: float) -> float:
    positives = int(positive.sum())
    if positives == 0:
        # Every threshold above the highest probability scores the same F1 (0), so validation
        # says nothing about this label; the default keeps its behaviour what the model says.
        return DEFAULT_THRESHOLD
    order = np.argsort(probability, kind="stable")
    ascending = probability[order]
    # positives_below[k]: positives among the k lowest probabilities
    positives_below = np.concatenate(([0], np.cumsum(positive[order])))
    candidates = np.unique(np.append(ascending[ascending >= floor], DEFAULT_THRESHOLD))
    below = np.searchsorted(ascending, candidates, side="left")  # rows under each candidate
    answered = len(ascending) - below
    true_positives = positives - positives_below[below]
    f1 = 2.0 * true_positives / (answered + positives)
    best = f1 == f1.max()  # equal fractions divide to equal floats: exact ties are ties
    distance = np.abs(candidates - DEFAULT_THRESHOLD)
    # lexsort's last key sorts first: nearest 0.5, then the higher threshold
    chosen = np.lexsort((-candidates[best], distance[best]))[0]
    return float(candidates[best][chosen])


def predicted_sets(
    probabilities: np.ndarray, classes: Sequence[str], thresholds: np.ndarray
) -> list[tuple[str, ...]]:
    """Each text's answer: the labels whose probability reaches their threshold, sorted."""
    probabilities, thresholds = _checked(probabilities, thresholds)
    if len(classes) != probabilities.shape[1]:
        raise ValueError(f"{len(classes)} classes for {probabilities.shape[1]} columns")
    answered = probabilities >= thresholds
    return [tuple(sorted(classes[j] for j in np.flatnonzero(row).tolist())) for row in answered]


def set_confidence(probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """A confidence in each text's whole answered set: the product over labels of ``p`` for an
    answered label and ``1 - p`` for one left out.

    If the per-label probabilities are calibrated and independent given the text, this is the
    probability that the answered set is exactly right. It shrinks with the number of labels
    (every label is one more chance to be wrong), so compare it across texts of one model, not
    across models with different label counts.
    """
    return shared_set_confidence(*_checked(probabilities, thresholds))


def _checked(probabilities: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probabilities = np.asarray(probabilities, dtype=float)
    thresholds = np.asarray(thresholds, dtype=float)
    if probabilities.ndim != 2 or thresholds.shape != (probabilities.shape[1],):
        raise ValueError(
            f"probabilities {probabilities.shape} need one threshold per column, "
            f"got {thresholds.shape}"
        )
    return probabilities, thresholds
