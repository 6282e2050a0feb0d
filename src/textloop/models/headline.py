"""The two numbers that choose between models: accuracy and macro-F1 of probability rows.

Composing a model (``compose``) and tuning it judge candidates by these alone; the test split's
full report (intervals, slices, calibration) is the pipeline's ``evaluation``, which computes
them the same way from here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def predicted_labels(probabilities: np.ndarray, classes: Sequence[str]) -> list[str]:
    return [classes[i] for i in np.asarray(probabilities).argmax(axis=1)]


def headline(
    true_labels: Sequence[str], probabilities: np.ndarray, classes: Sequence[str]
) -> dict[str, float]:
    """Accuracy and macro-F1 only: what selection needs, without intervals or slices."""
    truth, guess, k = indexed(true_labels, predicted_labels(probabilities, classes))
    accuracy, macro_f1 = accuracy_macro_f1(truth, guess, k)
    return {"accuracy": accuracy, "macro_f1": macro_f1}


def indexed(
    true_labels: Sequence[str], predicted: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Both label lists as indexes into the labels seen in either."""
    labels = sorted(set(true_labels) | set(predicted))
    index = {label: i for i, label in enumerate(labels)}
    truth = np.array([index[label] for label in true_labels], dtype=int)
    guess = np.array([index[label] for label in predicted], dtype=int)
    return truth, guess, len(labels)


def accuracy_macro_f1(truth: np.ndarray, guess: np.ndarray, k: int) -> tuple[float, float]:
    """Macro-F1 over the labels present in either array, as scikit-learn's ``f1_score`` does."""
    hit = truth == guess
    tp = np.bincount(truth[hit], minlength=k)
    fp = np.bincount(guess, minlength=k) - tp
    fn = np.bincount(truth, minlength=k) - tp
    denominator = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denominator, out=np.zeros(k), where=denominator > 0)
    return float(hit.mean()), float(f1[denominator > 0].mean())
