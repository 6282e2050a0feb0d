"""Evaluation reports the standard metrics, including labels the model never saw."""

import numpy as np
import pytest

from textloop.pipeline.evaluation import evaluate


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
