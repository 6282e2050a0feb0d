"""Query strategies: which unlabelled texts a person should label next.

A strategy gives every scored pool text a usefulness (higher first) from the model's
probabilities, so the pool can be streamed in chunks keeping only the best few; ``select``
then picks the batch from those. ``diverse`` keeps three times the batch by margin and picks the
most uncertain text of each of ``n`` k-means clusters of their sentence embeddings, so one batch
is not a hundred near-copies. Strategies register like model families do.

A multi-label model's row is not one choice among labels but one yes/no decision per label, each
at that label's own threshold, so a strategy ranks those rows with ``set_usefulness``:

- ``margin``: the smallest distance of any label's probability to its threshold, Brinker's
  "binary minimum" (*On Active Learning in Multi-label Classification*, 2006; modAL's
  ``SVM_binary_minimum``), with the calibrated threshold where an SVM has its zero;
- ``breaking-ties``: the same, in log-odds, which favours the rare labels' near misses;
- ``least-confidence``: 1 - the probability that the whole answered set is right
  (``set_confidence``, the confidence every multi-label answer carries);
- ``entropy``: the sum of the labels' binary entropies, which is the entropy of the set if the
  labels are independent;
- ``diverse``: the ``margin`` shortlist, clustered as for single labels; ``random`` as ever.

A strategy that does not define ``set_usefulness`` cannot rank label sets and is refused for a
multi-label classifier before the pool is scored (``ranks_label_sets``), rather than reading
per-label probabilities as a distribution over labels (small-text's strategies likewise declare
the classification type they take).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from textloop.models.label_thresholds import set_confidence
from textloop.plugins import Registry

EPSILON = 1e-12


def _builtins() -> None:
    return None  # the built-ins below register when this module is imported


strategies = Registry("query strategy", "strategies", "strategy", _builtins)


class Strategy:
    """Subclasses set ``usefulness`` and, to rank label sets, ``set_usefulness``;
    ``keep_factor`` > 1 asks for a wider shortlist, and ``needs_model`` False lets a classifier
    without a deployed model use the strategy (its probabilities then have no columns)."""

    strategy: ClassVar[str]
    keep_factor: ClassVar[int] = 1
    needs_model: ClassVar[bool] = True

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def usefulness(self, probabilities: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def set_usefulness(self, probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        """A multi-label model's rows: ``probabilities`` per label, ``thresholds`` per label."""
        raise NotImplementedError

    def select(
        self, texts: Sequence[str], usefulness: np.ndarray, n: int, resources: Any
    ) -> list[int]:
        """Indexes of the ``n`` texts to label among the shortlist, best first."""
        return [int(i) for i in np.argsort(-usefulness, kind="stable")[:n]]


def ranks_label_sets(strategy: type[Strategy]) -> bool:
    """Whether ``strategy`` says what a multi-label model's rows are worth."""
    return strategy.set_usefulness is not Strategy.set_usefulness


def usefulness_of(
    strategy: Strategy, probabilities: np.ndarray, thresholds: np.ndarray | None
) -> np.ndarray:
    """Each row's usefulness: a multi-label model's (``thresholds`` given) or a single-label's."""
    if thresholds is None:
        return strategy.usefulness(probabilities)
    return strategy.set_usefulness(probabilities, thresholds)


def _top_two(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ordered = np.sort(probabilities, axis=1)
    second = ordered[:, -2] if probabilities.shape[1] > 1 else np.zeros(len(probabilities))
    return ordered[:, -1], second


def _log_odds(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(probabilities, EPSILON, 1.0 - EPSILON)
    return np.log(clipped) - np.log1p(-clipped)


@strategies.register("random")
class RandomStrategy(Strategy):
    needs_model = False

    def usefulness(self, probabilities: np.ndarray) -> np.ndarray:
        return self.rng.random(len(probabilities))

    def set_usefulness(self, probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        return self.usefulness(probabilities)


@strategies.register("least-confidence")
class LeastConfidence(Strategy):
    def usefulness(self, probabilities: np.ndarray) -> np.ndarray:
        return 1.0 - probabilities.max(axis=1)

    def set_usefulness(self, probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        return 1.0 - set_confidence(probabilities, thresholds)


@strategies.register("margin")
class Margin(Strategy):
    """The smallest gap between the two likeliest labels; for label sets, between a label's
    probability and its threshold."""

    def usefulness(self, probabilities: np.ndarray) -> np.ndarray:
        first, second = _top_two(probabilities)
        return -(first - second)

    def set_usefulness(self, probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        return -np.abs(probabilities - thresholds).min(axis=1)


@strategies.register("breaking-ties")
class BreakingTies(Strategy):
    """The two likeliest labels closest in ratio (log-odds), which favours rare confusions; for
    label sets, a label's log-odds closest to its threshold's."""

    def usefulness(self, probabilities: np.ndarray) -> np.ndarray:
        first, second = _top_two(probabilities)
        return -(np.log(first + EPSILON) - np.log(second + EPSILON))

    def set_usefulness(self, probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        return -np.abs(_log_odds(probabilities) - _log_odds(thresholds)).min(axis=1)


@strategies.register("entropy")
class Entropy(Strategy):
    def usefulness(self, probabilities: np.ndarray) -> np.ndarray:
        return -(probabilities * np.log(probabilities + EPSILON)).sum(axis=1)

    def set_usefulness(self, probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        absent = 1.0 - probabilities
        return -(
            probabilities * np.log(probabilities + EPSILON) + absent * np.log(absent + EPSILON)
        ).sum(axis=1)


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
