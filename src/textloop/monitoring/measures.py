"""Drift measures: how far a window of live traffic is from the texts a model was tested on.

Each measure compares two samples and has a threshold with a direction. The thresholds are
chosen to be scale-free (a statistic or a p-value rather than a raw distance), so one default
works for 4 labels or 77 and for windows of a few hundred texts or many thousands.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

# scipy and scikit-learn are imported where they are used: the server imports this module (for
# its drift pages) and would otherwise take a second longer to start.

TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class Measure:
    name: str
    threshold: float
    above: bool  # drift when the value is above the threshold (else: below)
    meaning: str

    def breached(self, value: float | None, threshold: float | None = None) -> bool:
        if value is None:
            return False
        limit = self.threshold if threshold is None else threshold
        return value > limit if self.above else value < limit


MEASURES = {
    m.name: m
    for m in (
        Measure(
            "embedding_auc",
            0.75,
            True,
            "how well a classifier tells window texts from held-out texts by their embeddings "
            "(0.5: indistinguishable)",
        ),
        Measure(
            "oov_increase",
            0.10,
            True,
            "share of window words never seen in training, minus that share in held-out texts",
        ),
        Measure("length_ks", 0.25, True, "Kolmogorov-Smirnov statistic of text length in words"),
        Measure(
            "confidence_ks", 0.25, True, "Kolmogorov-Smirnov statistic of the model's confidence"
        ),
        Measure(
            "label_shift",
            0.35,
            True,
            "bias-corrected Cramer's V between predicted labels and held-out predictions "
            "(0: same distribution, 1: disjoint)",
        ),
        Measure(
            "out_of_scope_rate",
            0.20,
            True,
            "share of the window answered out of scope (fitting no label); a detector keeps "
            "about 5 % of in-scope texts aside, so much more means texts of a new kind",
        ),
    )
}


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def vocabulary(texts: Iterable[str]) -> frozenset[str]:
    return frozenset(word for text in texts for word in tokens(text))


def oov_rate(texts: Sequence[str], known: frozenset[str]) -> float:
    words = [word for text in texts for word in tokens(text)]
    return sum(word not in known for word in words) / len(words) if words else 0.0


def lengths(texts: Sequence[str]) -> np.ndarray:
    return np.array([len(tokens(text)) for text in texts], dtype=float)


def ks_statistic(reference: np.ndarray, window: np.ndarray) -> float:
    from scipy.stats import ks_2samp

    return float(ks_2samp(reference, window).statistic)


def label_shift(reference: Sequence[str], window: Sequence[str]) -> float:
    """Bias-corrected Cramer's V (Bergsma, 2013) of the 2-by-labels table of counts.

    An effect size, not a test: a p-value would flag the harmless imbalance of a large window,
    and plain V is far from 0 for same-distribution samples of many labels; the correction
    subtracts what chance alone gives.
    """
    ref, win = Counter(reference), Counter(window)
    labels = sorted(set(ref) | set(win))
    if len(labels) < 2:
        return 0.0
    table = np.array([[ref[label] for label in labels], [win[label] for label in labels]])
    n, k = int(table.sum()), len(labels)
    from scipy.stats import chi2_contingency

    phi2 = float(chi2_contingency(table, correction=False).statistic) / n
    corrected = max(0.0, phi2 - (k - 1) / (n - 1))
    k_corrected, r_corrected = k - (k - 1) ** 2 / (n - 1), 2 - 1 / (n - 1)
    return float(np.sqrt(corrected / max(min(k_corrected, r_corrected) - 1, 1e-9)))


def domain_auc(reference: np.ndarray, window: np.ndarray, seed: int = 0) -> float:
    """Out-of-fold ROC AUC of a linear classifier separating window from reference embeddings."""
    features = np.vstack([reference, window])
    target = np.r_[np.zeros(len(reference)), np.ones(len(window))]
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    scores = cross_val_predict(
        LogisticRegression(C=1.0, max_iter=1000),
        features,
        target,
        cv=folds,
        method="predict_proba",
    )[:, 1]
    return float(roc_auc_score(target, scores))


def mean_embedding_distance(reference: np.ndarray, window: np.ndarray) -> float:
    """Cosine distance between the two mean embeddings; shown, not thresholded."""
    a, b = reference.mean(axis=0), window.mean(axis=0)
    return float(1.0 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))
