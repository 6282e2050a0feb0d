"""Grouping texts by meaning: which embeddings form clusters, which texts stand for each cluster,
and which words set each apart from the others. Plain functions of arrays and texts; what the
texts are and where they come from is ``discovery``'s.

Clusters are found by HDBSCAN (scikit-learn's) on unit-length embeddings, where Euclidean
distance orders pairs as cosine distance does. It needs no number of clusters, and it leaves the
texts that sit in no dense region out ("noise") instead of forcing each into the nearest group,
which is what unsure and out-of-scope answers are full of. Clusters are its leaves (the finest
dense groups) of at least ``MIN_CLUSTER_SIZE`` texts: a missing label shows up first as a few
texts alike, and a leaf is one intent where the default ("excess of mass") merges neighbouring
ones. Where the texts hold one dense group and stragglers, the tree has no leaf below its root,
and the group's dense core (HDBSCAN's single cluster) is taken as the one cluster. Given the
same vectors it finds the same clusters, in whatever order they come (HDBSCAN is given them
sorted, identical ones once), so a cluster can be found again by running it again. On Banking77
with ten intents held out, the leaves recovered 8 of the 10 on the first window measured, where
HDBSCAN's default selection recovered 7 and average-linkage clustering 6 to 8 with more clusters
as the window grew; on the default window now, 9 of the 10, 79 % pure on average
(``benchmarks/discover.py``, ``docs/benchmarks.md``).

Keywords are class-based TF-IDF (Grootendorst 2022, "BERTopic"): each cluster's texts are read
as one document, the unclustered texts as one more, and a word scores by how much of its
cluster's words it is, times how rare it is across all of them. Words every cluster uses (the
domain's own: "card", "account") fall away; words of one cluster stay.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NOISE = -1  # the cluster label of a text in no cluster
MIN_CLUSTER_SIZE = 4  # the fewest texts that make a cluster worth a label
KEYWORDS = 5


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float64)


def cluster_labels(vectors: np.ndarray, min_size: int = MIN_CLUSTER_SIZE) -> np.ndarray:
    """One cluster number per row of ``vectors`` (``NOISE`` for none), numbered from 0 by size,
    largest first (ties: the cluster whose first row comes first). Fewer rows than ``min_size``
    make no cluster."""
    if len(vectors) < max(min_size, 2):
        return np.full(len(vectors), NOISE, dtype=int)
    from sklearn.cluster import HDBSCAN

    # texts that embed alike ("Hi" and "hi", to an uncased encoder) are clustered as one point,
    # and share its cluster: HDBSCAN's density is undefined at distance 0 between points
    rows, inverse = np.unique(unit_rows(vectors), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    if len(rows) < max(min_size, 2):
        return np.full(len(vectors), NOISE, dtype=int)
    found = HDBSCAN(min_cluster_size=min_size, cluster_selection_method="leaf", copy=True)
    numbers = np.asarray(found.fit_predict(rows), dtype=int)
    if (numbers == NOISE).all():  # one dense group and stragglers: no leaf below the root
        whole = HDBSCAN(min_cluster_size=min_size, allow_single_cluster=True, copy=True)
        numbers = np.asarray(whole.fit_predict(rows), dtype=int)
    return _by_size(numbers[inverse])


def _by_size(found: np.ndarray) -> np.ndarray:
    numbers = [int(n) for n in np.unique(found) if n != NOISE]
    first = {n: int(np.flatnonzero(found == n)[0]) for n in numbers}
    ordered = sorted(numbers, key=lambda n: (-int((found == n).sum()), first[n]))
    renumbered = np.full(len(found), NOISE, dtype=int)
    for new, old in enumerate(ordered):
        renumbered[found == old] = new
    return renumbered


def nearest_to_centre(vectors: np.ndarray) -> list[int]:
    """The rows of one cluster's ``vectors`` ordered by cosine similarity to the cluster's
    centre, nearest first: the first ones are the texts that stand for the cluster best."""
    rows = unit_rows(vectors)
    centre = rows.mean(axis=0)
    similarity = rows @ (centre / max(float(np.linalg.norm(centre)), 1e-12))
    return [int(i) for i in np.argsort(-similarity, kind="stable")]


def keywords(
    clusters: Sequence[Sequence[str]], unclustered: Sequence[str] = (), k: int = KEYWORDS
) -> list[list[str]]:
    """The ``k`` words (English stop words left out) that set each cluster of texts apart, best
    first, by class-based TF-IDF; ``unclustered`` texts count as one more class, so that what
    every text says scores low. A cluster whose texts hold no word gets none."""
    from sklearn.feature_extraction.text import CountVectorizer

    documents = [" ".join(texts) for texts in clusters]
    if unclustered:
        documents.append(" ".join(unclustered))
    if not clusters:
        return []
    vectorizer = CountVectorizer(stop_words="english")
    try:
        counts = vectorizer.fit_transform(documents).toarray().astype(np.float64)
    except ValueError:  # no word at all: every text was stop words, digits or punctuation
        return [[] for _ in clusters]
    words = vectorizer.get_feature_names_out()
    per_class = counts.sum(axis=1, keepdims=True)
    frequency = np.maximum(counts.sum(axis=0), 1.0)
    average = float(per_class.mean())
    scores = counts / np.maximum(per_class, 1.0) * np.log1p(average / frequency)
    chosen = []
    for row, present in zip(scores[: len(clusters)], counts[: len(clusters)], strict=True):
        ranked = np.lexsort((words, -row))  # ties: alphabetical, so the choice is stable
        chosen.append([str(words[i]) for i in ranked[:k] if present[i] > 0])
    return chosen


def suggested_name(words: Sequence[str], labels: Sequence[str]) -> str:
    """A label name from a cluster's two best keywords, joined the way the classifier's labels
    join words (``card_arrival``, ``card-arrival`` or ``card arrival``); empty without any."""
    joiner = " "
    if any("_" in label for label in labels):
        joiner = "_"
    elif any("-" in label for label in labels):
        joiner = "-"
    return joiner.join(words[:2])
