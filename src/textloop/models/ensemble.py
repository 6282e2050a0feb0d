"""``ensemble``: a weighted average of member models' probabilities.

Word n-grams and sentence embeddings make different mistakes, so their average beats either
alone (on Banking77 by about one point of accuracy). ``auto`` builds one from the candidates it
has already fitted and picks the weights on the validation split; ``--model ensemble`` fits the
members itself with equal weights.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from textloop.models.base import ModelResources, check_fitted, families, load_model, save_model


@families.register("ensemble")
class EnsembleClassifier:
    needs_resources = True

    def __init__(
        self,
        members: Sequence[str] = ("ngram", "embedding"),
        weights: Sequence[float] | None = None,
        resources: ModelResources | None = None,
    ) -> None:
        self.members = members
        self.weights = weights
        self.resources = resources

    def get_params(self) -> dict[str, Any]:
        return {
            "members": list(self.members),
            "weights": list(self.weights) if self.weights is not None else None,
        }

    @classmethod
    def from_fitted(cls, models: Sequence[Any], weights: Sequence[float]) -> Self:
        ensemble = cls(members=[m.family for m in models], weights=list(weights))
        ensemble._adopt(list(models))
        return ensemble

    def warm_up(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> None:
        for member in self._unfitted():
            if hasattr(member, "warm_up"):
                member.warm_up(texts, progress)

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Self:
        self._adopt([member.fit(texts, labels) for member in self._unfitted()])
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        check_fitted(self)
        total = np.zeros((len(texts), len(self.classes_)))
        for member, weight in zip(self.models_, self.weights_, strict=True):
            columns = [self.classes_.index(label) for label in member.classes_]
            total[:, columns] += weight * member.predict_proba(texts)
        return total / total.sum(axis=1, keepdims=True)

    def save(self, directory: Path) -> None:
        check_fitted(self)
        for index, member in enumerate(self.models_):
            save_model(member, directory / f"member-{index}")
        (directory / "ensemble.json").write_text(json.dumps({"weights": self.weights_}))

    @classmethod
    def load(cls, directory: Path, resources: ModelResources) -> Self:
        weights = json.loads((directory / "ensemble.json").read_text())["weights"]
        models = [
            load_model(directory / f"member-{index}", resources) for index in range(len(weights))
        ]
        return cls.from_fitted(models, weights)

    def _unfitted(self) -> list[Any]:
        if not hasattr(self, "_pending"):
            self.resources = self.resources or ModelResources()
            self._pending = [families.create(name, self.resources) for name in self.members]
        return self._pending

    def _adopt(self, models: list[Any]) -> None:
        weights = list(self.weights) if self.weights is not None else [1.0] * len(models)
        if len(weights) != len(models) or not models:
            raise ValueError(f"{len(models)} members need as many weights, got {len(weights)}")
        self.models_ = models
        self.weights_ = [float(w) / sum(weights) for w in weights]
        self.classes_ = sorted({label for model in models for label in model.classes_})
