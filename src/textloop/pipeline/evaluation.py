"""Test-split metrics in one JSON-ready dictionary, stored with every model version.

Accuracy, macro-F1, per-class precision/recall/F1, the confusion matrix, the expected calibration
error, 95 % bootstrap confidence intervals for accuracy and macro-F1, and the headline metrics on
slices: by text length, and by any extra column of the user's file passed as ``columns`` (one
slice ``"<column>=<value>"`` per value, the 20 most frequent per column; per label is
``per_class``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from textloop.models.headline import accuracy_macro_f1, indexed, predicted_labels

ECE_BINS = 15
BOOTSTRAP_SAMPLES = 1000
LENGTH_BUCKETS = ((0, 50, "1-50 chars"), (50, 100, "51-100 chars"), (100, 200, "101-200 chars"))
MAX_COLUMN_SLICES = 20
MISSING_VALUE = "(missing)"
EMPTY_VALUE = "(empty)"  # an empty cell, as written: a value of its own, not a missing one


def evaluate(
    true_labels: Sequence[str],
    probabilities: np.ndarray,
    classes: Sequence[str],
    texts: Sequence[str] | None = None,
    *,
    columns: Mapping[str, Sequence[str | None]] | None = None,
) -> dict[str, Any]:
    """Every metric of the test split; slices by length need ``texts``.

    ``columns`` maps an extra column's name to its value on each test row (in the order of
    ``true_labels``); its slices join the length slices in ``metrics["slices"]``.

    Macro-F1 averages over every label seen in either list, as scikit-learn's ``f1_score`` does;
    a test label the model never saw counts as an error and gets its own row.
    """
    probabilities = np.asarray(probabilities)
    predicted = predicted_labels(probabilities, classes)
    metrics = evaluate_labels(true_labels, predicted)
    if not true_labels:
        return metrics
    correct = np.array([t == p for t, p in zip(true_labels, predicted, strict=True)])
    metrics["ece"] = expected_calibration_error(probabilities.max(axis=1), correct)
    metrics["confidence_intervals"] = bootstrap_intervals(true_labels, predicted)
    if texts is not None:
        metrics["slices"] = length_slices(true_labels, predicted, texts)
    for column, values in (columns or {}).items():
        metrics.setdefault("slices", {}).update(
            column_slices(true_labels, predicted, values, column)
        )
    return metrics


def evaluate_labels(true_labels: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    # Imported here: the server imports this module (to train on request) and starts faster.
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    if not true_labels:
        return {"rows": 0}
    labels = sorted(set(true_labels) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        true_labels, predicted, labels=labels, zero_division=0
    )
    return {
        "rows": len(true_labels),
        "accuracy": float(accuracy_score(true_labels, predicted)),
        "macro_f1": float(np.mean(f1)),
        "per_class": {
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion_matrix": {
            "labels": labels,
            "matrix": confusion_matrix(true_labels, predicted, labels=labels).tolist(),
        },
    }


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray) -> float:
    """Top-label ECE over equal-width confidence bins: sum of |accuracy - confidence| by weight."""
    edges = np.linspace(0.0, 1.0, ECE_BINS + 1)
    bins = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, ECE_BINS - 1)
    error = 0.0
    for b in range(ECE_BINS):
        members = bins == b
        if members.any():
            error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)


def bootstrap_intervals(
    true_labels: Sequence[str], predicted: Sequence[str], samples: int = BOOTSTRAP_SAMPLES
) -> dict[str, list[float]]:
    """95 % percentile intervals from resampling test rows (fixed seed: reproducible)."""
    truth, guess, k = indexed(true_labels, predicted)
    rng = np.random.default_rng(0)
    accuracies, macro_f1s = [], []
    for _ in range(samples):
        rows = rng.integers(0, len(truth), len(truth))
        accuracy, macro_f1 = accuracy_macro_f1(truth[rows], guess[rows], k)
        accuracies.append(accuracy)
        macro_f1s.append(macro_f1)
    return {
        "accuracy": [float(np.percentile(accuracies, 2.5)), float(np.percentile(accuracies, 97.5))],
        "macro_f1": [float(np.percentile(macro_f1s, 2.5)), float(np.percentile(macro_f1s, 97.5))],
    }


def length_slices(
    true_labels: Sequence[str], predicted: Sequence[str], texts: Sequence[str]
) -> dict[str, dict[str, float]]:
    truth, guess, k = indexed(true_labels, predicted)
    lengths = np.array([len(text) for text in texts])
    slices: dict[str, dict[str, float]] = {}
    for low, high, name in (*LENGTH_BUCKETS, (200, None, ">200 chars")):
        rows = (lengths > low) & (lengths <= (high if high is not None else np.inf))
        if rows.any():
            slices[f"length {name}"] = _slice(truth, guess, k, rows)
    return slices


def column_slices(
    true_labels: Sequence[str],
    predicted: Sequence[str],
    values: Sequence[str | None],
    column: str,
) -> dict[str, dict[str, float]]:
    """Accuracy and macro-F1 per value of one column, keyed ``"<column>=<value>"``.

    A missing value (None) is its own slice, ``"<column>=(missing)"``, and an empty one (an
    empty CSV cell) another, ``"<column>=(empty)"``. Only the
    ``MAX_COLUMN_SLICES`` (20) most frequent values get a slice, most frequent first (ties by
    value), so that a column of near-unique values does not flood the metrics.
    """
    truth, guess, k = indexed(true_labels, predicted)
    return {
        key: _slice(truth, guess, k, rows)
        for key, rows in column_groups(values, column, len(true_labels)).items()
    }


def column_groups(values: Sequence[str | None], column: str, rows: int) -> dict[str, np.ndarray]:
    """The slices of one column, ``"<column>=<value>"``, each with its rows (a mask), most
    frequent first: the rules above, shared by single-label and multi-label metrics."""
    if len(values) != rows:
        raise ValueError(f"column {column!r} has {len(values)} values for {rows} test rows")
    shown = [
        MISSING_VALUE if value is None else value if value != "" else EMPTY_VALUE
        for value in values
    ]
    counts = Counter(shown)
    top = sorted(counts, key=lambda value: (-counts[value], value))[:MAX_COLUMN_SLICES]
    as_array = np.array(shown, dtype=object)
    return {f"{column}={value}": as_array == value for value in top}


def _slice(truth: np.ndarray, guess: np.ndarray, k: int, rows: np.ndarray) -> dict[str, float]:
    accuracy, macro_f1 = accuracy_macro_f1(truth[rows], guess[rows], k)
    return {"rows": int(rows.sum()), "accuracy": accuracy, "macro_f1": macro_f1}
