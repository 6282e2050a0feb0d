"""``majority``: always answers the most frequent training label, with the training priors.

The floor every real model must beat, and a deterministic, instant model for tests and smoke
checks of the serving path.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from textloop.models.base import ModelResources, PortableWriter, check_fitted, families


@families.register("majority")
class MajorityClassifier:
    def get_params(self) -> dict[str, Any]:
        return {}

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Self:
        counts = Counter(labels)
        self.classes_ = sorted(counts)
        total = sum(counts.values())
        self.priors_ = np.array([counts[label] / total for label in self.classes_])
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        check_fitted(self)
        return np.tile(self.priors_, (len(texts), 1))

    def portable(self, writer: PortableWriter) -> dict[str, Any]:
        check_fitted(self)
        return {"kind": "prior", "classes": list(self.classes_), "priors": self.priors_.tolist()}

    def save(self, directory: Path) -> None:
        check_fitted(self)
        priors = dict(zip(self.classes_, self.priors_.tolist(), strict=True))
        (directory / "priors.json").write_text(json.dumps(priors))

    @classmethod
    def load(cls, directory: Path, resources: ModelResources) -> Self:
        priors = json.loads((directory / "priors.json").read_text())
        model = cls()
        model.classes_ = sorted(priors)
        model.priors_ = np.array([priors[label] for label in model.classes_])
        return model
