"""Test-split metrics in one JSON-ready dictionary, stored with every model version."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support


def evaluate(
    true_labels: Sequence[str], probabilities: np.ndarray, classes: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix.

    Macro-F1 averages over every label seen in either list, as scikit-learn's ``f1_score`` does;
    a test label the model never saw counts as an error and gets its own row.
    """
    predicted = [classes[i] for i in np.asarray(probabilities).argmax(axis=1)]
    return evaluate_labels(true_labels, predicted)


def evaluate_labels(true_labels: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
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
