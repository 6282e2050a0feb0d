"""Query strategies: which unlabelled texts a person should label next.

A strategy gives every scored pool text a usefulness (higher first) from the model's
probabilities, so the pool can be streamed in chunks keeping only the best few; ``select``
then picks the batch from those. ``diverse`` keeps three times the batch by margin and picks the
most uncertain text of each of ``n`` k-means clusters of their sentence embeddings, so one batch
is not a hundred near-copies. Strategies register like model families do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from textloop.plugins import Registry

EPSILON = 1e-12


def _builtins() -> None:
    return None  # the built-ins below register when this module is imported


strategies = Registry("query strategy", "strategies", "strategy", _builtins)


class Strategy:
    """Subclasses set ``usefulness``; ``keep_factor`` > 1 asks for a wider shortlist, and
    ``needs_model`` False lets a classifier without a deployed model use the strategy (its
    probabilities then have no columns)."""

    strategy: ClassVar[str]
    keep_factor: ClassVar[int] = 1
    needs_model: ClassVar[bool] = True

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def usefulness(self, probabilities: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def select(
        self, texts: Sequence[str], usefulness: np.ndarray, n: int, resources: Any
    ) -> list[int]:
        """Indexes of the ``n`` texts to label among the shortlist, best first."""
        return [int(i) for i in np.argsort(-usefulness, kind="stable")[:n]]


def _top_two(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ordered = np.sort(probabilities, axis=1)
    second = ordered[:, -2] if probabilities.shape[1] > 1 else np.zeros(len(probabilities))
    return ordered[:, -1], second


@strategies.register("random")
class RandomStrategy(Strategy):
    needs_model = False

    def usefulness(self, probabilities: np.ndarray) -> np.ndarray:
        return self.rng.random(len(probabilities))


@strategies.register("least-confidence")
class LeastConfidence(Strategy):
    def usefulness(self, probabilities: np.ndarray) -> np.ndarray:
        return 1.0 - probabilities.max(axis=1)


@strategies.register("margin")
class Margin(Strategy):
    """The smallest gap between the two likeliest labels."""

    def usefulness(self, probabilities: np.ndarray) -> np.ndarray:
        first, second = _top_two(probabilities)
        return -(first - second)


@strategies.register("breaking-ties")
class BreakingTies(Strategy):
    """The two likeliest labels closest in ratio (log-odds), which favours rare confusions."""

    def usefulness(self, probabilities: np.ndarray) -> np.ndarray:
        first, second = _top_two(probabilities)
        return -(np.log(first + EPSILON) - np.log(second + EPSILON))


@strategies.register("entropy")
class Entropy(Strategy):
    def usefulness(self, probabilities: np.ndarray) -> np.ndarray:
        return -(probabilities * np.log(probabilities + EPSILON)).sum(axis=1)


@strategies.register("diverse")
class DiverseMargin(Margin):
    """Margin uncertainty, spread over the embedding space by k-means (cluster-margin)."""

    keep_factor = 3

    def select(
        self, texts: Sequence[str], usefulness: np.ndarray, n: int, resources: Any
    ) -> list[int]:
        if len(texts) <= n:
            return super().select(texts, usefulness, n, resources)
        from sklearn.cluster import KMeans

        from textloop.models.encoders import DEFAULT_ENCODER

        embeddings = resources.encoder_pool().get(DEFAULT_ENCODER).encode(list(texts))
        clusters = KMeans(n_clusters=n, n_init=1, random_state=0).fit_predict(embeddings)
        chosen = []
        for cluster in range(n):
            members = np.flatnonzero(clusters == cluster)
            if len(members):
                chosen.append(int(members[np.argmax(usefulness[members])]))
        return sorted(chosen, key=lambda i: -usefulness[i])


DEFAULT_STRATEGY = "diverse"
