"""``multi-label``: a fitted multi-label model as it is served, each label calibrated and decided.

Each label's probability is rescaled on validation by Platt scaling (a logistic regression on
the probability's log-odds), since one label's raw probabilities are over- or under-confident
in their own way; a softmax temperature, as ``calibrated`` fits for single-label models, would
tie the labels together. Each label then gets its own decision threshold, the one that maximised
its F1 on validation (``label_thresholds``), never below ``floor``: labels have different base
rates, and 0.5 leaves a rare label almost never predicted. The answer for a text is the set of
labels whose probability reaches their threshold, possibly empty.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from textloop.models.base import (
    ModelResources,
    PortableWriter,
    check_fitted,
    families,
    load_model,
    save_model,
)
from textloop.models.label_heads import indicators
from textloop.models.label_thresholds import choose_thresholds, predicted_sets
from textloop.models.shared_predict import EPSILON, platt

THRESHOLD_FLOOR = 0.05  # below this, a label would be answered for almost any text
SAVED = "multi_label.json"


def fit_platt(probabilities: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per label, the scale and shift of its log-odds that minimise log-loss on these rows; a
    label validation never shows both ways keeps its probabilities as they are."""
    from sklearn.linear_model import LogisticRegression  # only to fit: serving never loads it

    labels = probabilities.shape[1]
    scale, shift = np.ones(labels), np.zeros(labels)
    clipped = np.clip(probabilities, EPSILON, 1.0 - EPSILON)
    logits = np.log(clipped / (1.0 - clipped))
    for column in range(labels):
        target = truth[:, column]
        if target.min() == target.max():
            continue
        fitted = LogisticRegression(C=1e4, max_iter=1000).fit(logits[:, [column]], target)
        scale[column], shift[column] = fitted.coef_[0, 0], fitted.intercept_[0]
    return scale, shift


@families.register("multi-label")
class MultiLabelClassifier:
    """Wraps a fitted model of label sets; ``fit`` calibrates and chooses thresholds on the rows
    it is given (validation), it never fits the model inside."""

    def __init__(self, model: Any = None, floor: float = THRESHOLD_FLOOR) -> None:
        self.model = model
        self.floor = floor

    def get_params(self) -> dict[str, Any]:
        return {"inner": getattr(self.model, "family", None), "floor": self.floor}

    @classmethod
    def fitted(
        cls,
        model: Any,
        scale: Sequence[float] | np.ndarray,
        shift: Sequence[float] | np.ndarray,
        thresholds: Sequence[float] | np.ndarray,
        floor: float = THRESHOLD_FLOOR,
    ) -> Self:
        """A wrapper with what an earlier ``fit`` chose, around ``model`` (fitted again)."""
        wrapper = cls(model, floor)
        wrapper._adopt(np.asarray(scale), np.asarray(shift), np.asarray(thresholds))
        return wrapper

    @classmethod
    def refitted(cls, model: Any, earlier: MultiLabelClassifier) -> Self:
        """``earlier``'s calibration and thresholds around ``model``, its inner model fitted
        again with more rows, matched by label: a label the new rows brought (one validation
        had and the train split had not) is scored as it comes, and decided at 0.5."""
        index = {label: i for i, label in enumerate(earlier.classes_)}
        kept = [index.get(label) for label in model.classes_]

        def by_label(values: np.ndarray, otherwise: float) -> np.ndarray:
            return np.array([otherwise if i is None else values[i] for i in kept], dtype=float)

        return cls.fitted(
            model,
            by_label(earlier.scale_, 1.0),
            by_label(earlier.shift_, 0.0),
            by_label(earlier.thresholds_, 0.5),
            earlier.floor,
        )

    @classmethod
    def untuned(cls, model: Any) -> Self:
        """``model``'s probabilities as they are, each label decided at 0.5: where there were
        no validation rows to calibrate and choose on."""
        labels = len(model.classes_)
        return cls.fitted(model, np.ones(labels), np.zeros(labels), np.full(labels, 0.5))

    def fit(self, texts: Sequence[str], labels: Sequence[tuple[str, ...]]) -> Self:
        if self.model is None or not hasattr(self.model, "classes_"):
            raise ValueError("MultiLabelClassifier needs an already fitted model to calibrate")
        classes = list(self.model.classes_)
        probabilities = self.model.predict_proba(list(texts))
        truth = indicators(labels, classes)
        scale, shift = fit_platt(probabilities, truth)
        calibrated = platt(probabilities, scale, shift)
        self._adopt(scale, shift, choose_thresholds(truth, calibrated, floor=self.floor))
        return self

    def _adopt(self, scale: np.ndarray, shift: np.ndarray, thresholds: np.ndarray) -> None:
        self.scale_, self.shift_, self.thresholds_ = scale, shift, thresholds
        self.classes_ = list(self.model.classes_)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        check_fitted(self)
        return self.calibrate(self.model.predict_proba(texts))

    def calibrate(self, probabilities: np.ndarray) -> np.ndarray:
        """The inner model's probabilities as this wrapper answers them."""
        return platt(probabilities, self.scale_, self.shift_)

    def predict_sets(self, texts: Sequence[str]) -> list[tuple[str, ...]]:
        """The labels each text carries: those reaching their threshold."""
        return predicted_sets(self.predict_proba(texts), self.classes_, self.thresholds_)

    def thresholds(self) -> dict[str, float]:
        check_fitted(self)
        return {c: float(t) for c, t in zip(self.classes_, self.thresholds_, strict=True)}

    def portable(self, writer: PortableWriter) -> dict[str, Any]:
        check_fitted(self)
        return {
            "kind": "multi-label",
            "classes": list(self.classes_),
            **self._learned(),
            "model": writer.node(self.model),
        }

    def _learned(self) -> dict[str, Any]:
        return {
            "scale": [float(v) for v in self.scale_],
            "shift": [float(v) for v in self.shift_],
            "thresholds": [float(v) for v in self.thresholds_],
        }

    def save(self, directory: Path) -> None:
        check_fitted(self)
        save_model(self.model, directory / "inner")
        saved = {"floor": self.floor, **self._learned()}
        (directory / SAVED).write_text(json.dumps(saved))

    @classmethod
    def load(cls, directory: Path, resources: ModelResources) -> Self:
        saved = json.loads((directory / SAVED).read_text())
        model = load_model(directory / "inner", resources)
        return cls.fitted(
            model, saved["scale"], saved["shift"], saved["thresholds"], saved["floor"]
        )


def is_multi_label(model: Any) -> bool:
    """Whether ``model`` answers label sets (it is, or ends in, this wrapper)."""
    return isinstance(model, MultiLabelClassifier)
