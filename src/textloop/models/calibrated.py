"""``calibrated``: any model with its probabilities rescaled by a temperature fitted on validation.

``softmax(log(p) / T)`` keeps every ranking (the predicted label never changes) and only
sharpens (T < 1) or softens (T > 1) the confidence, so that a confidence of 0.7 is right about 70 %
of the time and the review threshold means what it says.
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
from textloop.models.shared_predict import EPSILON, rescale


def fit_temperature(probabilities: np.ndarray, label_indexes: np.ndarray) -> float:
    """The temperature minimising negative log-likelihood on held-out rows."""

    def nll(log_t: float) -> float:
        scaled = rescale(probabilities, float(np.exp(log_t)))
        return float(
            -np.log(np.clip(scaled[np.arange(len(scaled)), label_indexes], EPSILON, 1)).mean()
        )

    from scipy.optimize import minimize_scalar  # only to fit: serving never loads scipy

    result = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))


@families.register("calibrated")
class CalibratedClassifier:
    """Wraps a fitted model; ``fit`` fits the temperature on the rows it is given."""

    def __init__(self, model: Any = None) -> None:
        self.model = model

    def get_params(self) -> dict[str, Any]:
        return {"inner": getattr(self.model, "family", None), **getattr(self, "_learned", {})}

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Self:
        if self.model is None or not hasattr(self.model, "classes_"):
            raise ValueError("CalibratedClassifier needs an already fitted model to calibrate")
        classes = list(self.model.classes_)
        known = [i for i, label in enumerate(labels) if label in classes]
        probabilities = self.model.predict_proba([texts[i] for i in known])
        indexes = np.array([classes.index(labels[i]) for i in known])
        self.temperature_ = fit_temperature(probabilities, indexes) if known else 1.0
        self._learned = {"temperature": self.temperature_}
        self.classes_ = classes
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        check_fitted(self)
        return rescale(self.model.predict_proba(texts), self.temperature_)

    def portable(self, writer: PortableWriter) -> dict[str, Any]:
        check_fitted(self)
        return {
            "kind": "calibrated",
            "temperature": self.temperature_,
            "model": writer.node(self.model),
        }

    def save(self, directory: Path) -> None:
        check_fitted(self)
        save_model(self.model, directory / "inner")
        (directory / "calibration.json").write_text(json.dumps({"temperature": self.temperature_}))

    @classmethod
    def load(cls, directory: Path, resources: ModelResources) -> Self:
        temperature = json.loads((directory / "calibration.json").read_text())["temperature"]
        return cls.fitted(load_model(directory / "inner", resources), temperature)

    @classmethod
    def fitted(cls, model: Any, temperature: float) -> Self:
        """``model`` with a temperature already fitted."""
        calibrated = cls(model)
        calibrated.temperature_ = temperature
        calibrated._learned = {"temperature": temperature}
        calibrated.classes_ = list(model.classes_)
        return calibrated
