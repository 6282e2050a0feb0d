"""``embedding``: a frozen sentence encoder with a logistic-regression head.

The encoder is borrowed from the shared ``EncoderPool`` (see ``ModelResources``), so several
classifiers on one encoder hold one copy of it; only the head is saved with the model.

Given unlabelled texts (a classifier's pool), the head self-trains: texts it already predicts
with probability at least ``self_training`` join a second fit with their predicted label. With
few labels this is worth hundreds of reviewed ones (``benchmarks/active_learning.py``); classes
are weighted to balance, so the pseudo-labels of common classes do not swamp rare ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import joblib
import numpy as np

from textloop.errors import ConfigError
from textloop.models.base import (
    ModelResources,
    PortableWriter,
    check_fitted,
    families,
    unpickle,
)
from textloop.models.encoders import DEFAULT_ENCODER
from textloop.models.label_heads import are_label_sets, fit_label_heads
from textloop.models.linear_head import LinearHead
from textloop.models.tags import FamilyTags


@families.register("embedding")
class EmbeddingClassifier:
    tags: ClassVar[FamilyTags] = FamilyTags(
        needs_resources=True,
        learns_from_unlabelled=True,
        multi_label=True,
        search_space={"C": [1.0, 3.0, 10.0, 30.0, 100.0]},
    )

    def __init__(
        self,
        encoder: str = DEFAULT_ENCODER,
        C: float = 10.0,
        max_iter: int = 1000,
        class_weight: str | None = "balanced",
        self_training: float | None = 0.5,
        resources: ModelResources | None = None,
    ) -> None:
        self.encoder = encoder
        self.C = C
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.self_training = self_training
        self.resources = resources

    def get_params(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder,
            "C": self.C,
            "max_iter": self.max_iter,
            "class_weight": self.class_weight,
            "self_training": self.self_training,
        }

    def _pool(self) -> Any:
        """The shared encoder pool, from the resources given or default ones kept from now on."""
        self.resources = self.resources or ModelResources()
        return self.resources.encoder_pool()

    def _encoder(self) -> Any:
        return self._pool().get(self.encoder)

    def _encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> Any:
        return self._encoder().encode(list(texts), progress=progress)

    def warm_up(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> None:
        """Encode ``texts`` ahead of fit/predict so long work can report progress."""
        self._encode(texts, progress)

    def fit(
        self, texts: Sequence[str], labels: Sequence[Any], unlabelled: Sequence[str] = ()
    ) -> Self:
        """Label sets (``label_heads``) get one logistic regression per label, without
        self-training: a guessed set is too often a guessed wrong set to learn from."""
        if are_label_sets(labels):
            self.head_ = fit_label_heads(
                self._encode(texts), labels, self.C, self.max_iter, self.class_weight
            )
            self.classes_ = [str(label) for label in self.head_.classes_]
            return self
        features, targets = self._encode(texts), np.asarray(list(labels), dtype=object)
        self.head_ = self._fit_head(features, targets)
        known = set(texts)
        extra = [text for text in dict.fromkeys(unlabelled) if text not in known]
        if extra and self.self_training is not None:
            extra_features = self._encode(extra)
            probabilities = self.head_.predict_proba(extra_features)
            confident = probabilities.max(axis=1) >= self.self_training
            if confident.any():
                guessed = self.head_.classes_[probabilities[confident].argmax(axis=1)]
                self.head_ = self._fit_head(
                    np.vstack([features, extra_features[confident]]),
                    np.concatenate([targets, guessed]),
                )
        self.classes_ = [str(label) for label in self.head_.classes_]
        return self

    def _fit_head(self, features: np.ndarray, targets: np.ndarray) -> Any:
        from sklearn.linear_model import LogisticRegression

        head = LogisticRegression(C=self.C, max_iter=self.max_iter, class_weight=self.class_weight)
        return head.fit(features, targets)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        check_fitted(self)
        return np.asarray(self.head_.predict_proba(self._encode(texts)))

    def save(self, directory: Path) -> None:
        check_fitted(self)
        if not isinstance(self.head_, LinearHead):  # scikit-learn's, for whoever wants it
            joblib.dump(self.head_, directory / "head.joblib")
        LinearHead.of(self.head_).save(directory / HEAD)
        (directory / "embedding.json").write_text(json.dumps(self.get_params()))

    def portable(self, writer: PortableWriter) -> dict[str, Any]:
        """The encoder's ONNX export and the head's arrays; an encoder running on PyTorch (no
        export of it) cannot go into a bundle."""
        check_fitted(self)
        encoder = self._encoder()
        directory = getattr(encoder, "directory", None)
        if directory is None:
            raise ConfigError(
                f"the encoder {self.encoder!r} runs on PyTorch here (it has no ONNX export), "
                "so a model using it cannot be exported as a portable bundle"
            )
        return {
            "kind": "embedding",
            "encoder": writer.encoder(Path(directory)),
            "head": writer.arrays("head", LinearHead.of(self.head_).arrays()),
        }

    @classmethod
    def load(cls, directory: Path, resources: ModelResources) -> Self:
        params = json.loads((directory / "embedding.json").read_text())
        model = cls(**params, resources=resources)
        if (directory / HEAD).exists():
            model.head_ = LinearHead.load(directory / HEAD)
        else:  # saved before heads were saved as arrays
            model.head_ = unpickle(directory / "head.joblib", resources)
        model.classes_ = [str(label) for label in model.head_.classes_]
        return model


HEAD = "head.npz"
