"""Clustering embeddings, the texts that stand for a cluster, and its keywords: plain functions of
arrays and texts, checked on vectors whose groups are known."""

from __future__ import annotations

import numpy as np

from textloop.review.clustering import (
    MIN_CLUSTER_SIZE,
    NOISE,
    cluster_labels,
    keywords,
    nearest_to_centre,
    suggested_name,
)


def group(centre: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    return centre + rng.normal(scale=0.02, size=(size, len(centre)))


def test_two_dense_groups_are_two_clusters_numbered_largest_first_and_the_rest_is_noise() -> None:
    rng = np.random.default_rng(0)
    axes = np.eye(16)
    small, large = group(axes[0], 5, rng), group(axes[1], 9, rng)
    stragglers = axes[8:12]  # each far from every other vector
    numbers = cluster_labels(np.vstack([small, large, stragglers]))
    assert numbers[:5].tolist() == [1] * 5 and numbers[5:14].tolist() == [0] * 9
    assert numbers[14:].tolist() == [NOISE] * 4
    again = cluster_labels(np.vstack([small, large, stragglers]))
    assert again.tolist() == numbers.tolist()  # the same vectors, the same clusters


def test_one_dense_group_among_stragglers_is_one_cluster() -> None:
    """HDBSCAN's tree then has no leaf below its root: the group's dense core is the cluster."""
    rng = np.random.default_rng(1)
    vectors = np.vstack([group(np.eye(16)[3], 8, rng), np.eye(16)[8:13]])
    numbers = cluster_labels(vectors)
    assert set(numbers.tolist()) == {0, NOISE}
    assert (numbers[:8] == 0).sum() >= MIN_CLUSTER_SIZE
    assert numbers[8:].tolist() == [NOISE] * 5


def test_texts_that_embed_alike_share_a_cluster_and_break_nothing() -> None:
    """Many texts with one embedding (case variants, to an uncased encoder) are one point to
    HDBSCAN, whose density is undefined at distance 0, and each takes that point's cluster."""
    rng = np.random.default_rng(2)
    axes = np.eye(16)
    alike = np.repeat(axes[0][None, :] + 0.01, 6, axis=0)
    near = group(axes[0], 6, rng)
    other = group(axes[1], 7, rng)
    numbers = cluster_labels(np.vstack([alike, near, other, axes[8:11]]))
    assert len(set(numbers[:6].tolist())) == 1 and numbers[0] != NOISE
    assert numbers[0] in set(numbers[6:12].tolist())
    assert set(numbers[12:19].tolist()) == {numbers[12]} != {NOISE}


def test_too_few_texts_make_no_cluster() -> None:
    assert cluster_labels(np.zeros((0, 4))).tolist() == []
    assert cluster_labels(np.ones((3, 4))).tolist() == [NOISE] * 3


def test_the_texts_nearest_the_centre_come_first() -> None:
    vectors = np.array([[1.0, 0.1], [1.0, 0.0], [1.0, -0.1], [-1.0, 0.05]])
    order = nearest_to_centre(vectors)
    assert order[0] == 1 and order[-1] == 3


def test_keywords_are_the_words_of_one_cluster_not_of_every_text() -> None:
    baking = ["bake the bread in my card oven", "my card bread did not rise", "oven for bread"]
    flying = ["my card flight was late", "a flight with my card", "book a flight and a seat"]
    found = keywords([baking, flying], unclustered=["my card is lost"])
    assert found[0][0] == "bread" and found[1][0] == "flight"
    assert "card" not in found[0][:2] and "card" not in found[1][:2]  # in every text
    assert "my" not in found[0] and "the" not in found[0]  # English stop words
    assert keywords([["the and of"], ["oven"]]) == [[], ["oven"]]
    assert keywords([]) == []


def test_a_suggested_name_joins_keywords_as_the_labels_do() -> None:
    assert suggested_name(["card", "arrival"], ["top_up", "refund"]) == "card_arrival"
    assert suggested_name(["card", "arrival"], ["top-up"]) == "card-arrival"
    assert suggested_name(["card", "arrival"], ["sport", "weather"]) == "card arrival"
    assert suggested_name([], ["sport"]) == ""
