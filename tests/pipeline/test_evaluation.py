"""Evaluation reports the standard metrics, including labels the model never saw."""

import numpy as np
import pytest

from textloop.pipeline.evaluation import MAX_COLUMN_SLICES, column_slices, evaluate


def test_metrics_match_a_hand_computed_example() -> None:
    classes = ["a", "b"]
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    metrics = evaluate(["a", "b", "b", "b"], probabilities, classes)
    assert metrics["accuracy"] == pytest.approx(0.75)
    assert metrics["per_class"]["a"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}
    )
    assert metrics["per_class"]["b"]["recall"] == pytest.approx(2 / 3)
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert metrics["confusion_matrix"] == {"labels": ["a", "b"], "matrix": [[1, 0], [1, 2]]}


def test_a_label_only_in_the_test_data_counts_as_an_error() -> None:
    metrics = evaluate(["a", "c"], np.array([[1.0, 0.0], [1.0, 0.0]]), ["a", "b"])
    assert metrics["accuracy"] == 0.5
    assert "c" in metrics["per_class"]


def test_column_slices_give_the_metrics_of_each_value() -> None:
    truth = ["a", "b", "a", "b", "a", "b"]
    guess = ["a", "b", "b", "b", "a", "a"]
    channel = ["web", "web", "web", "phone", None, None]
    slices = column_slices(truth, guess, channel, "channel")
    assert list(slices) == ["channel=web", "channel=(missing)", "channel=phone"]
    assert slices["channel=web"]["rows"] == 3
    assert slices["channel=web"]["accuracy"] == pytest.approx(2 / 3)
    # web: a->a, b->b, a->b; F1(a) = 2/3, F1(b) = 2/3
    assert slices["channel=web"]["macro_f1"] == pytest.approx(2 / 3)
    assert slices["channel=phone"] == {"rows": 1, "accuracy": 1.0, "macro_f1": 1.0}
    assert slices["channel=(missing)"]["accuracy"] == pytest.approx(0.5)


def test_only_the_most_frequent_column_values_get_a_slice() -> None:
    values = [f"user{i}" for i in range(30)] + ["common"] * 5
    truth = ["a"] * len(values)
    slices = column_slices(truth, truth, values, "user")
    assert len(slices) == MAX_COLUMN_SLICES
    assert next(iter(slices)) == "user=common"


def test_evaluate_adds_column_slices_next_to_the_length_slices() -> None:
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    truth = ["a", "b", "b", "b"]
    columns = {"language": ["en", "en", "de", "de"]}
    metrics = evaluate(truth, probabilities, ["a", "b"], ["short"] * 4, columns=columns)
    assert metrics["slices"]["language=en"]["accuracy"] == 1.0
    assert metrics["slices"]["language=de"]["accuracy"] == 0.5
    assert "length 1-50 chars" in metrics["slices"]
    without_texts = evaluate(truth, probabilities, ["a", "b"], columns=columns)
    assert set(without_texts["slices"]) == {"language=en", "language=de"}


def test_an_empty_value_and_a_missing_one_are_two_slices() -> None:
    slices = column_slices(["a", "b", "a"], ["a", "b", "b"], ["", None, "web"], "channel")
    assert sorted(slices) == ["channel=(empty)", "channel=(missing)", "channel=web"]
    assert slices["channel=web"]["accuracy"] == 0.0
