"""One small interface for turning texts into class probabilities with a loaded model.

Two implementations: ``DirectPredictor`` calls the model on the caller's thread (the CLI, the
worker, batch jobs, shadow scoring); the server's ``Batcher`` (``batched``) gathers concurrent
requests into one call on its own thread. Callers that may run in either place take a
``Predictor`` and are handed the one that fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np


class Predictor(Protocol):
    def predict(self, model: Any, texts: Sequence[str]) -> np.ndarray:
        """``model.predict_proba(texts)``: one row per text, one column per ``model.classes_``."""
        ...


class DirectPredictor:
    """Calls the model at once, ``max_batch`` texts at a time so a long list stays bounded in
    memory (the encoder sorts each call's texts by length, so larger calls pad less)."""

    def __init__(self, max_batch: int = 4096) -> None:
        self.max_batch = max_batch

    def predict(self, model: Any, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if len(texts) <= self.max_batch:
            return np.asarray(model.predict_proba(texts))
        parts = [
            np.asarray(model.predict_proba(texts[start : start + self.max_batch]))
            for start in range(0, len(texts), self.max_batch)
        ]
        return np.concatenate(parts)


DIRECT = DirectPredictor()
