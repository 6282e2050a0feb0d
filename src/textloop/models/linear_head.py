"""A fitted logistic regression as its arrays: what serving needs of it, without scikit-learn.

Importing scikit-learn (with SciPy) adds about a second to a server's start and about 160 MB to
its memory; the arithmetic of ``LogisticRegression.predict_proba`` is a product and a softmax (or
the logistic of the one decision value of a binary model). The ``embedding`` family's head and
the ``ngram`` family's linear layer are served as one of these. A multi-label model's head is one
logistic regression per label (``label_heads``): each column's logistic, ``SIGMOID``, instead of
a softmax across columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from textloop.models.arrays import save_arrays
from textloop.models.shared_predict import SOFTMAX, activate


class LinearHead:
    def __init__(
        self,
        coef: np.ndarray,
        intercept: np.ndarray,
        classes: np.ndarray,
        activation: str = SOFTMAX,
    ) -> None:
        self.coef_, self.intercept_, self.classes_ = coef, intercept, classes
        self.activation = activation

    @classmethod
    def of(cls, head: Any) -> LinearHead:
        if isinstance(head, LinearHead):
            return head
        return cls(head.coef_, head.intercept_, np.asarray(head.classes_, dtype=str))

    def arrays(self) -> dict[str, np.ndarray]:
        arrays = {"coef": self.coef_, "intercept": self.intercept_, "classes": self.classes_}
        if self.activation != SOFTMAX:  # heads saved before had none: softmax
            arrays["activation"] = np.asarray(self.activation)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> LinearHead:
        activation = str(arrays["activation"]) if "activation" in arrays else SOFTMAX
        return cls(arrays["coef"], arrays["intercept"], arrays["classes"], activation)

    def save(self, path: Path) -> None:
        save_arrays(path, self.arrays())

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        return cls.from_arrays(np.load(path, allow_pickle=False))

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        return self.probabilities(
            np.asarray(features, dtype=np.float64) @ self.coef_.T + self.intercept_
        )

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Decision values as probabilities, in place."""
        return activate(scores, self.activation)
