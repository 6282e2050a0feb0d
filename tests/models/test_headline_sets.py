"""A multi-label candidate is chosen by micro-F1, macro-F1 and subset accuracy of its indicator
matrices, counted as scikit-learn counts them."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from textloop.models.headline import headline_sets


@pytest.mark.parametrize("seed", range(5))
def test_headline_sets_agree_with_scikit_learn_on_random_indicator_matrices(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows, labels = int(rng.integers(20, 200)), int(rng.integers(2, 8))
    truth = (rng.random((rows, labels)) < rng.uniform(0.05, 0.6, labels)).astype(np.int8)
    guess = np.where(rng.random((rows, labels)) < 0.75, truth, 1 - truth).astype(np.int8)
    # macro over the labels true or predicted somewhere, as the single-label macro-F1
    seen = np.flatnonzero((truth | guess).any(axis=0)).tolist()
    scores = headline_sets(truth, guess)
    assert scores["micro_f1"] == pytest.approx(f1_score(truth, guess, average="micro"))
    assert scores["macro_f1"] == pytest.approx(
        f1_score(truth, guess, labels=seen, average="macro", zero_division=0)
    )
    assert scores["subset_accuracy"] == pytest.approx(accuracy_score(truth, guess))


def test_a_label_neither_true_nor_predicted_does_not_count_in_macro_f1() -> None:
    truth = np.array([[1, 0, 0], [0, 1, 0]])
    guess = np.array([[1, 0, 0], [1, 1, 0]])
    assert headline_sets(truth, guess)["macro_f1"] == pytest.approx((2 / 3 + 1.0) / 2)


def test_where_nothing_is_true_or_predicted_f1_reads_perfect() -> None:
    nothing = np.zeros((3, 2), dtype=np.int8)
    assert headline_sets(nothing, nothing) == {
        "micro_f1": 1.0,
        "macro_f1": 1.0,
        "subset_accuracy": 1.0,
    }


def test_the_matrices_must_be_alike() -> None:
    with pytest.raises(ValueError, match="must be"):
        headline_sets(np.zeros((3, 2)), np.zeros((3, 3)))
