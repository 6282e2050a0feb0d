"""One small interface for turning texts into class probabilities with a loaded model.

Two implementations: ``DirectPredictor`` calls the model on the caller's thread (the CLI, the
worker, batch jobs, shadow scoring); the server's ``Batcher`` (``batched``) gathers concurrent
requests into one call on its own thread. Callers that may run in either place take a
``Predictor`` and are handed the one that fits. ``answer`` is what the paths that answer
(classify, batch) ask: the probabilities and, where the model carries an out-of-scope detector
and ``scope`` asks for it, which texts fit none of its labels, computed in the same call (on the
model's thread, from the embeddings the model just made).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from textloop.models.out_of_scope import out_of_scope_flags


@dataclass(frozen=True)
class Answers:
    """A model's probabilities for some texts, one row each, and which of them it answers
    "out of scope" (None: not asked, or the model has no detector)."""

    probabilities: np.ndarray
    out_of_scope: np.ndarray | None = None

    def rows(self, start: int, end: int) -> Answers:
        flags = None if self.out_of_scope is None else self.out_of_scope[start:end]
        return Answers(self.probabilities[start:end], flags)


def answers(model: Any, texts: Sequence[str], probabilities: np.ndarray, scope: bool) -> Answers:
    """``probabilities`` with the out-of-scope flags of ``texts`` when ``scope`` asks for them."""
    flags = out_of_scope_flags(model, texts, probabilities) if scope and len(texts) else None
    return Answers(probabilities, flags)


class Predictor(Protocol):
    def predict(self, model: Any, texts: Sequence[str]) -> np.ndarray:
        """``model.predict_proba(texts)``: one row per text, one column per ``model.classes_``."""
        ...

    def answer(self, model: Any, texts: Sequence[str], scope: bool = True) -> Answers:
        """``predict``, and which texts are out of scope when ``scope`` (``answers``)."""
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

    def answer(self, model: Any, texts: Sequence[str], scope: bool = True) -> Answers:
        """A chunk at a time, so the detector's embeddings stay bounded too."""
        texts = list(texts)
        parts = [
            answers(model, part, self.predict(model, part), scope)
            for part in (
                texts[s : s + self.max_batch] for s in range(0, len(texts), self.max_batch)
            )
        ]
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return answers(model, texts, self.predict(model, texts), scope)
        flags = [part.out_of_scope for part in parts]
        return Answers(
            np.concatenate([part.probabilities for part in parts]),
            None if flags[0] is None else np.concatenate([f for f in flags if f is not None]),
        )


DIRECT = DirectPredictor()
