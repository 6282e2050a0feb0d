"""Label sets as targets, and the one logistic regression per label that learns them.

A multi-label family is handed label sets (tuples of names, possibly empty) where a single-label
one is handed names; ``are_label_sets`` tells which. The ``ngram`` and ``embedding`` families
learn sets the same way: their features are computed once, and each label gets its own binary
logistic regression on them ("binary relevance"), stacked into one ``LinearHead`` whose
activation is each column's logistic. One probability per label, each on its own: a text may
carry several labels, or none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from textloop.models.linear_head import LinearHead
from textloop.models.shared_predict import SIGMOID

LabelSets = Sequence[Sequence[str]]  # each a label set; tuples from the pipeline


def are_label_sets(labels: Sequence[Any]) -> bool:
    """Whether ``labels`` are label sets (a multi-label fit) rather than names."""
    return bool(labels) and isinstance(labels[0], tuple)


def label_names(label_sets: LabelSets) -> list[str]:
    """Every name that occurs in ``label_sets``, sorted: a multi-label model's ``classes_``."""
    return sorted({name for labels in label_sets for name in labels})


def indicators(label_sets: LabelSets, classes: Sequence[str]) -> np.ndarray:
    """Texts by labels, 1 where the text carries the label; names outside ``classes`` are not
    counted (a label the model never learned has no column to be scored in)."""
    column = {name: i for i, name in enumerate(classes)}
    matrix = np.zeros((len(label_sets), len(classes)), dtype=np.int8)
    for row, labels in enumerate(label_sets):
        for name in labels:
            if name in column:
                matrix[row, column[name]] = 1
    return matrix


def fit_label_heads(
    features: Any,
    label_sets: LabelSets,
    C: float,
    max_iter: int,
    class_weight: str | None = None,
) -> LinearHead:
    """One binary logistic regression per label on shared ``features`` (dense or sparse).

    A label every training text carries, or none does, cannot be fitted: its column is the
    constant log-odds of how often it occurs (smoothed), so it is scored but never decided by
    chance.
    """
    from sklearn.linear_model import LogisticRegression

    classes = label_names(label_sets)
    targets = indicators(label_sets, classes)
    width = features.shape[1]
    coef = np.zeros((len(classes), width))
    intercept = np.zeros(len(classes))
    for column in range(len(classes)):
        target = targets[:, column]
        positives = int(target.sum())
        if positives in (0, len(target)):
            rate = (positives + 0.5) / (len(target) + 1.0)
            intercept[column] = np.log(rate / (1.0 - rate))
            continue
        head = LogisticRegression(C=C, max_iter=max_iter, class_weight=class_weight)
        head.fit(features, target)
        coef[column] = head.coef_[0]
        intercept[column] = head.intercept_[0]
    return LinearHead(coef, intercept, np.asarray(classes, dtype=str), SIGMOID)
