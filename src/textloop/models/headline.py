"""The numbers that choose between models: accuracy and macro-F1 of probability rows (micro-F1
for label sets).

Composing a model (``compose``) and tuning it judge candidates by these alone; the test split's
full report (intervals, slices, calibration) is the pipeline's ``evaluation``, which computes
them the same way from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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


def headline_sets(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """A multi-label model's numbers to choose by, from texts-by-labels indicator matrices:
    micro-F1 (every decision of every label counts alike; it leads), macro-F1 (each label
    counts alike) and subset accuracy (the whole set right), counted as ``SetCounts`` counts
    them, so they are the test report's own numbers."""
    truth, predicted = np.asarray(truth, dtype=bool), np.asarray(predicted, dtype=bool)
    if truth.shape != predicted.shape or truth.ndim != 2:
        raise ValueError(
            f"truth {truth.shape} and predicted {predicted.shape} must be (n, L) alike"
        )
    counts = SetCounts.of(truth, predicted)
    return {
        "micro_f1": counts.micro_f1(),
        "macro_f1": counts.macro_f1(),
        "subset_accuracy": counts.subset_accuracy(),
    }


@dataclass(frozen=True)
class SetCounts:
    """Per label true positives, false positives and false negatives; exact sets per text.

    Every label-set metric (the test report's, its intervals and slices, and ``headline_sets``)
    is computed from these counts, so that none can disagree. Where nothing is true or predicted
    anywhere, F1 is 0/0; micro- and macro-F1 then read 1.0, since every answer is right.
    """

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    exact: float  # texts whose whole set is right
    rows: float

    @classmethod
    def of(cls, truth: np.ndarray, guess: np.ndarray) -> SetCounts:
        """Counts of two ``(n, L)`` bool indicator matrices."""
        return cls(
            tp=(truth & guess).sum(axis=0),
            fp=(guess & ~truth).sum(axis=0),
            fn=(truth & ~guess).sum(axis=0),
            exact=float((truth == guess).all(axis=1).sum()),
            rows=float(len(truth)),
        )

    @property
    def support(self) -> np.ndarray:
        return self.tp + self.fn

    def per_label(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Precision, recall and F1 per label, 0 where undefined (scikit-learn's
        ``zero_division=0``)."""
        return (
            _ratio(self.tp, self.tp + self.fp),
            _ratio(self.tp, self.tp + self.fn),
            _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn),
        )

    def micro_precision_recall(self) -> tuple[float, float]:
        tp, fp, fn = self.tp.sum(), self.fp.sum(), self.fn.sum()
        return float(_ratio(tp, tp + fp)), float(_ratio(tp, tp + fn))

    def micro_f1(self) -> float:
        tp, wrong = self.tp.sum(), self.fp.sum() + self.fn.sum()
        return float(2 * tp / (2 * tp + wrong)) if 2 * tp + wrong else 1.0

    def macro_f1(self) -> float:
        """The mean F1 of the labels that occur in the truth or the answers, as single-label
        macro-F1 averages over labels seen in either: a class neither present nor predicted
        has no F1 (0/0), and scoring it 0 would punish a split for lacking a rare label."""
        denominator = 2 * self.tp + self.fp + self.fn
        seen = denominator > 0
        return float((2 * self.tp[seen] / denominator[seen]).mean()) if seen.any() else 1.0

    def subset_accuracy(self) -> float:
        return self.exact / self.rows if self.rows else 0.0

    def hamming_loss(self) -> float:
        cells = self.rows * len(self.tp)
        return float((self.fp.sum() + self.fn.sum()) / cells) if cells else 0.0


def _ratio(numerator: Any, denominator: Any) -> np.ndarray:
    """``numerator / denominator`` elementwise, 0 where the denominator is 0."""
    numerator, denominator = np.asarray(numerator, float), np.asarray(denominator, float)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)
