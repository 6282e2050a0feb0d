"""Per-label thresholds turn independent label probabilities into a set, each label at the cut
that serves it best on validation."""

import numpy as np
import pytest
from sklearn.metrics import f1_score

from textloop.models.label_heads import indicators
from textloop.models.label_thresholds import (
    DEFAULT_THRESHOLD,
    choose_thresholds,
    predicted_sets,
    set_confidence,
)


def column(values: list[float]) -> np.ndarray:
    return np.array(values, dtype=float)[:, None]


def f1_of(truth: np.ndarray, answered: np.ndarray) -> float:
    """F1 by its definition, for checking every cut (scikit-learn's is slow for hundreds)."""
    hits = int((truth.astype(bool) & answered).sum())
    return 2 * hits / (int(truth.sum()) + int(answered.sum()))


def test_a_rare_label_gets_a_threshold_below_one_half_when_that_raises_its_f1() -> None:
    truth = column([1, 1, 0, 0, 0, 0, 0, 0])
    probabilities = column([0.3, 0.25, 0.2, 0.1, 0.1, 0.05, 0.05, 0.05])
    (threshold,) = choose_thresholds(truth, probabilities)
    assert threshold == pytest.approx(0.25)  # both positives answered, no negative
    assert predicted_sets(probabilities, ["rare"], np.array([threshold]))[:3] == [
        ("rare",),
        ("rare",),
        (),
    ]


def test_a_label_that_one_half_already_separates_keeps_one_half() -> None:
    # every cut between 0.4 and 0.6 is perfect; the tie goes to the one nearest 0.5
    (threshold,) = choose_thresholds(column([1, 1, 0, 0]), column([0.9, 0.6, 0.4, 0.1]))
    assert threshold == DEFAULT_THRESHOLD


def test_a_tie_goes_to_the_threshold_nearest_one_half() -> None:
    # F1 is 2/3 at 0.9 (one positive answered, alone) and at 0.2 (both, with two negatives)
    truth = column([1, 0, 0, 1])
    probabilities = column([0.9, 0.7, 0.6, 0.2])
    f1 = {t: f1_score(truth[:, 0], probabilities[:, 0] >= t) for t in (0.9, 0.7, 0.6, 0.5, 0.2)}
    assert f1[0.9] == f1[0.2] == max(f1.values())
    (threshold,) = choose_thresholds(truth, probabilities)
    assert threshold == 0.2


def test_a_label_with_no_positive_in_validation_keeps_one_half() -> None:
    (threshold,) = choose_thresholds(column([0, 0, 0]), column([0.7, 0.2, 0.01]))
    assert threshold == DEFAULT_THRESHOLD


def test_a_threshold_never_falls_below_the_floor() -> None:
    # answering every text catches both positives (F1 0.8); 0.2 catches one alone (F1 2/3)
    truth = column([1, 1, 0])
    probabilities = column([0.2, 0.01, 0.03])
    (threshold,) = choose_thresholds(truth, probabilities, floor=0.05)
    assert threshold == pytest.approx(0.2)
    (unfloored,) = choose_thresholds(truth, probabilities, floor=0.0)
    assert unfloored == pytest.approx(0.01)


def test_positives_all_under_the_floor_leave_one_half() -> None:
    (threshold,) = choose_thresholds(column([1, 0]), column([0.01, 0.02]), floor=0.05)
    assert threshold == DEFAULT_THRESHOLD


def test_each_label_gets_the_best_f1_any_cut_gives_and_never_less_than_one_half_gives() -> None:
    rng = np.random.default_rng(7)
    rows, labels = 300, 12
    truth = (rng.random((rows, labels)) < rng.uniform(0.01, 0.5, labels)).astype(np.int8)
    probabilities = np.clip(0.3 * truth + rng.beta(1, 4, (rows, labels)), 0, 1).round(2)
    thresholds = choose_thresholds(truth, probabilities)
    for j in range(labels):
        y, p = truth[:, j], probabilities[:, j]
        chosen = f1_score(y, p >= thresholds[j], zero_division=0)
        assert chosen >= f1_score(y, p >= 0.5, zero_division=0)
        best = max(f1_of(y, p >= t) for t in np.unique(p[p >= 0.05]))
        assert chosen == pytest.approx(max(best, f1_score(y, p >= 0.5, zero_division=0)))
        assert thresholds[j] >= 0.05


def test_thresholds_refuse_mismatched_shapes_and_a_floor_above_one_half() -> None:
    with pytest.raises(ValueError, match="must be"):
        choose_thresholds(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="floor"):
        choose_thresholds(np.zeros((3, 2)), np.zeros((3, 2)), floor=0.6)


def test_indicators_mark_each_known_name_and_ignore_the_rest() -> None:
    matrix = indicators([("a", "c"), (), ("b", "unknown")], ["a", "b", "c"])
    assert matrix.dtype == np.int8
    assert matrix.tolist() == [[1, 0, 1], [0, 0, 0], [0, 1, 0]]


def test_a_text_whose_labels_all_stay_under_their_thresholds_gets_the_empty_set() -> None:
    probabilities = np.array([[0.9, 0.1, 0.3], [0.2, 0.1, 0.05], [0.5, 0.6, 0.29]])
    thresholds = np.array([0.5, 0.6, 0.3])
    assert predicted_sets(probabilities, ["a", "b", "c"], thresholds) == [
        ("a", "c"),
        (),
        ("a", "b"),
    ]


def test_predicted_sets_are_sorted_whatever_the_column_order() -> None:
    assert predicted_sets(np.array([[0.9, 0.9]]), ["z", "a"], np.array([0.5, 0.5])) == [("a", "z")]


def test_set_confidence_is_the_probability_that_exactly_the_answered_set_is_true() -> None:
    probabilities = np.array([[0.9, 0.2, 0.6]])
    thresholds = np.array([0.5, 0.5, 0.5])
    # answered {a, c}: a true (0.9), b false (0.8), c true (0.6)
    assert set_confidence(probabilities, thresholds) == pytest.approx([0.9 * 0.8 * 0.6])
    # the same, by summing the chance of every set of true labels that equals the answer
    rng = np.random.default_rng(3)
    draws = rng.random((200_000, 3)) < probabilities
    exactly = (draws == (probabilities >= thresholds)).all(axis=1).mean()
    assert exactly == pytest.approx(0.9 * 0.8 * 0.6, abs=0.005)


def test_set_confidence_uses_each_labels_own_threshold() -> None:
    # 0.3 is answered under a 0.25 threshold, so its own 0.3 counts, not 0.7
    assert set_confidence(np.array([[0.3]]), np.array([0.25])) == pytest.approx([0.3])


def test_thresholds_must_match_the_columns() -> None:
    with pytest.raises(ValueError, match="one threshold per column"):
        set_confidence(np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="classes"):
        predicted_sets(np.zeros((2, 3)), ["a", "b"], np.zeros(3))
