"""A multi-label model's report scores label sets as scikit-learn would, leads with micro-F1,
counts "no label applies" as an answer, and gives intervals, calibration and slices like the
single-label report."""

import json

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    hamming_loss,
    precision_recall_fscore_support,
)

from textloop.models.headline import headline_sets
from textloop.models.label_heads import indicators
from textloop.models.label_thresholds import predicted_sets
from textloop.pipeline.evaluation import (
    MAX_COLUMN_SLICES,
    bootstrap_intervals,
    expected_calibration_error,
)
from textloop.pipeline.multilabel_evaluation import (
    column_slices,
    evaluate_sets,
    label_calibration_error,
)

CLASSES = ["billing", "refund", "urgent"]
HALF = np.array([0.5, 0.5, 0.5])
# billing and refund answered right on text 0; text 1 misses urgent; text 2 answers refund
# wrongly; text 3 has no label and gets none
TRUE_SETS = [("billing", "refund"), ("urgent",), ("billing",), ()]
PROBABILITIES = np.array(
    [
        [0.9, 0.8, 0.1],
        [0.2, 0.1, 0.4],
        [0.7, 0.6, 0.2],
        [0.1, 0.3, 0.2],
    ]
)


def random_case(
    seed: int, rows: int = 200, labels: int = 6
) -> tuple[list[tuple[str, ...]], np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    classes = [f"label{j}" for j in range(labels)]
    truth = rng.random((rows, labels)) < rng.uniform(0.05, 0.5, labels)
    probabilities = np.clip(0.4 * truth + rng.random((rows, labels)) * 0.7, 0, 1)
    true_sets = [tuple(classes[j] for j in np.flatnonzero(row)) for row in truth]
    return true_sets, probabilities, classes


def test_metrics_match_a_hand_computed_example() -> None:
    metrics = evaluate_sets(TRUE_SETS, PROBABILITIES, CLASSES, HALF)
    # tp: billing 2, refund 1, urgent 0; fp: refund 1; fn: urgent 1
    assert metrics["rows"] == 4
    assert metrics["micro_precision"] == pytest.approx(3 / 4)
    assert metrics["micro_recall"] == pytest.approx(3 / 4)
    assert metrics["micro_f1"] == pytest.approx(3 / 4)
    assert metrics["macro_f1"] == pytest.approx((1.0 + 2 / 3 + 0.0) / 3)
    assert metrics["subset_accuracy"] == pytest.approx(2 / 4)
    assert metrics["hamming_loss"] == pytest.approx(2 / 12)
    assert metrics["labels_per_text"] == {"true": 1.0, "predicted": 1.0}
    assert metrics["texts_with_none"] == {"true": 1, "predicted": 2}
    refund = metrics["per_class"]["refund"]
    assert {key: refund[key] for key in ("precision", "recall", "f1", "support")} == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}
    )
    assert refund["threshold"] == 0.5
    # refund's confidences 0.8, 0.9, 0.6, 0.7 each alone in a bin; the 0.6 "yes" is wrong
    assert refund["ece"] == pytest.approx((0.2 + 0.1 + 0.6 + 0.3) / 4)


def test_micro_f1_leads_and_no_accuracy_key_invites_reading_it_as_single_label() -> None:
    metrics = evaluate_sets(TRUE_SETS, PROBABILITIES, CLASSES, HALF)
    assert metrics["headline"] == "micro_f1"
    assert metrics["headline"] in metrics
    assert "accuracy" not in metrics


def test_the_empty_set_predicted_for_a_text_with_no_labels_counts_as_an_exact_match() -> None:
    metrics = evaluate_sets([()], np.array([[0.1, 0.2, 0.3]]), CLASSES, HALF)
    assert metrics["subset_accuracy"] == 1.0
    assert metrics["hamming_loss"] == 0.0
    assert metrics["texts_with_none"] == {"true": 1, "predicted": 1}


def test_where_no_text_has_a_label_and_none_is_predicted_f1_reads_perfect() -> None:
    metrics = evaluate_sets([(), ()], np.array([[0.1, 0.2, 0.3]] * 2), CLASSES, HALF)
    assert metrics["micro_f1"] == metrics["macro_f1"] == 1.0
    assert metrics["confidence_intervals"]["micro_f1"] == [1.0, 1.0]


def test_a_label_predicted_for_a_text_with_none_is_an_error() -> None:
    metrics = evaluate_sets([()], np.array([[0.9, 0.2, 0.3]]), CLASSES, HALF)
    assert metrics["subset_accuracy"] == 0.0
    assert metrics["micro_f1"] == 0.0
    assert metrics["micro_precision"] == 0.0


def test_a_true_label_outside_the_classes_counts_as_missed_and_gets_its_own_row() -> None:
    metrics = evaluate_sets([("billing", "fraud")], np.array([[0.9, 0.1, 0.1]]), CLASSES, HALF)
    assert metrics["subset_accuracy"] == 0.0
    assert metrics["micro_recall"] == pytest.approx(1 / 2)
    fraud = metrics["per_class"]["fraud"]
    assert (fraud["support"], fraud["recall"], fraud["threshold"], fraud["ece"]) == (
        1,
        0.0,
        None,
        None,
    )
    assert metrics["macro_f1"] == pytest.approx((1.0 + 0.0) / 2)  # billing and fraud


def test_macro_f1_averages_the_labels_present_or_predicted_as_single_label_evaluation_does() -> (
    None
):
    # urgent is neither true nor answered anywhere: it has no F1 and does not count
    metrics = evaluate_sets([("billing",), ("refund",)], PROBABILITIES[[0, 2]], CLASSES, HALF)
    truth = indicators([("billing",), ("refund",)], CLASSES)
    guess = indicators(predicted_sets(PROBABILITIES[[0, 2]], CLASSES, HALF), CLASSES)
    assert metrics["macro_f1"] == pytest.approx(
        f1_score(truth, guess, labels=[0, 1], average="macro", zero_division=0)
    )
    assert metrics["per_class"]["urgent"]["support"] == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_set_metric_agrees_with_scikit_learn_on_indicator_matrices(seed: int) -> None:
    true_sets, probabilities, classes = random_case(seed)
    thresholds = np.random.default_rng(seed).uniform(0.3, 0.7, len(classes))
    metrics = evaluate_sets(true_sets, probabilities, classes, thresholds)
    truth = indicators(true_sets, classes)
    guess = indicators(predicted_sets(probabilities, classes, thresholds), classes)
    assert metrics["micro_f1"] == pytest.approx(f1_score(truth, guess, average="micro"))
    assert metrics["macro_f1"] == pytest.approx(f1_score(truth, guess, average="macro"))
    precision, recall, _, _ = precision_recall_fscore_support(truth, guess, average="micro")
    assert (metrics["micro_precision"], metrics["micro_recall"]) == pytest.approx(
        (precision, recall)
    )
    assert metrics["subset_accuracy"] == pytest.approx(accuracy_score(truth, guess))
    assert metrics["hamming_loss"] == pytest.approx(hamming_loss(truth, guess))
    precisions, recalls, f1s, supports = precision_recall_fscore_support(
        truth, guess, average=None, zero_division=0
    )
    for j, label in enumerate(classes):
        row = metrics["per_class"][label]
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == pytest.approx(
            (precisions[j], recalls[j], f1s[j], supports[j])
        )
        assert row["threshold"] == thresholds[j]


def test_a_classifier_of_one_label_scores_that_label_not_its_absence() -> None:
    # scikit-learn takes an (n, 1) indicator for a binary target and would average in "absent"
    metrics = evaluate_sets(
        [("spam",), (), ("spam",)], np.array([[0.9], [0.8], [0.1]]), ["spam"], np.array([0.5])
    )
    assert metrics["micro_f1"] == pytest.approx(0.5)  # tp 1, fp 1, fn 1
    assert metrics["macro_f1"] == pytest.approx(0.5)
    assert metrics["subset_accuracy"] == pytest.approx(1 / 3)


def test_headline_sets_gives_the_reports_own_numbers() -> None:
    true_sets, probabilities, classes = random_case(4)
    thresholds = np.full(len(classes), 0.45)
    metrics = evaluate_sets(true_sets, probabilities, classes, thresholds)
    truth = indicators(true_sets, classes)
    guess = indicators(predicted_sets(probabilities, classes, thresholds), classes)
    assert headline_sets(truth, guess) == {
        "micro_f1": metrics["micro_f1"],
        "macro_f1": metrics["macro_f1"],
        "subset_accuracy": metrics["subset_accuracy"],
    }


def test_intervals_hold_the_point_estimate_and_repeat_exactly() -> None:
    true_sets, probabilities, classes = random_case(5, rows=300)
    first = evaluate_sets(true_sets, probabilities, classes, HALF.repeat(2))
    again = evaluate_sets(true_sets, probabilities, classes, HALF.repeat(2))
    assert first["confidence_intervals"] == again["confidence_intervals"]
    assert set(first["confidence_intervals"]) == {"micro_f1", "macro_f1", "subset_accuracy"}
    for name, (low, high) in first["confidence_intervals"].items():
        assert low <= first[name] <= high
        assert high - low < 0.2
    for row in first["per_class"].values():
        low, high = row["interval"]["f1"]
        assert low <= row["f1"] <= high


def test_a_label_never_true_nor_answered_has_no_f1_interval() -> None:
    metrics = evaluate_sets([("billing",)], np.array([[0.9, 0.1, 0.1]]), CLASSES, HALF)
    assert metrics["per_class"]["urgent"]["interval"] == {"f1": None}
    assert metrics["per_class"]["billing"]["interval"] == {"f1": [1.0, 1.0]}


def test_each_labels_calibration_is_that_of_its_own_yes_or_no_question() -> None:
    true_sets, probabilities, classes = random_case(6)
    metrics = evaluate_sets(true_sets, probabilities, classes, HALF.repeat(2))
    truth = indicators(true_sets, classes)
    eces = []
    for j, label in enumerate(classes):
        p = probabilities[:, j]
        expected = expected_calibration_error(np.maximum(p, 1 - p), (p >= 0.5) == truth[:, j])
        assert metrics["per_class"][label]["ece"] == pytest.approx(expected)
        eces.append(expected)
    assert metrics["ece"] == pytest.approx(np.mean(eces))


def test_the_calibration_error_of_other_probabilities_is_measured_as_the_reports() -> None:
    true_sets, probabilities, classes = random_case(6)
    metrics = evaluate_sets(true_sets, probabilities, classes, HALF.repeat(2))
    assert label_calibration_error(probabilities, true_sets, classes) == metrics["ece"]
    sharpened = np.clip(probabilities * 1.5 - 0.25, 0, 1)
    assert label_calibration_error(sharpened, true_sets, classes) != metrics["ece"]


def test_perfectly_calibrated_confident_probabilities_have_no_calibration_error() -> None:
    probabilities = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    metrics = evaluate_sets([("billing",), ()], probabilities, CLASSES, HALF)
    assert metrics["ece"] == 0.0


def test_slices_by_length_and_column_give_rows_micro_f1_and_subset_accuracy() -> None:
    texts = ["short", "short too", "x" * 120, "y" * 300]
    columns = {"channel": ["web", "web", None, ""]}
    metrics = evaluate_sets(TRUE_SETS, PROBABILITIES, CLASSES, HALF, texts, columns=columns)
    slices = metrics["slices"]
    assert set(slices) == {
        "length 1-50 chars",
        "length 101-200 chars",
        "length >200 chars",
        "channel=web",
        "channel=(missing)",
        "channel=(empty)",
    }
    # texts 0 and 1: three true labels, two found, none wrong; one exact set
    assert slices["channel=web"] == pytest.approx(
        {"rows": 2, "micro_f1": 2 * 2 / (2 * 2 + 1), "subset_accuracy": 0.5}
    )
    assert slices["length 1-50 chars"] == slices["channel=web"]
    assert slices["channel=(empty)"] == {"rows": 1, "micro_f1": 1.0, "subset_accuracy": 1.0}
    without_texts = evaluate_sets(TRUE_SETS, PROBABILITIES, CLASSES, HALF, columns=columns)
    assert set(without_texts["slices"]) == {"channel=web", "channel=(missing)", "channel=(empty)"}


def test_only_the_most_frequent_column_values_get_a_slice() -> None:
    values = [f"user{i}" for i in range(30)] + ["common"] * 5
    truth = np.ones((len(values), 2), dtype=bool)
    slices = column_slices(truth, truth, values, "user")
    assert len(slices) == MAX_COLUMN_SLICES
    assert next(iter(slices)) == "user=common"


def test_a_column_must_have_a_value_for_every_text() -> None:
    with pytest.raises(ValueError, match="3 values for 4 test rows"):
        evaluate_sets(TRUE_SETS, PROBABILITIES, CLASSES, HALF, columns={"c": ["a", "b", "c"]})


def test_the_report_is_strict_json() -> None:
    true_sets, probabilities, classes = random_case(8, rows=50)
    texts = ["text"] * 50
    metrics = evaluate_sets(true_sets, probabilities, classes, HALF.repeat(2), texts)
    assert json.loads(json.dumps(metrics, allow_nan=False)) == metrics


def test_an_empty_test_split_reports_no_rows() -> None:
    assert evaluate_sets([], np.zeros((0, 3)), CLASSES, HALF) == {"rows": 0, "headline": "micro_f1"}


def test_probabilities_and_thresholds_must_fit_the_texts_and_classes() -> None:
    with pytest.raises(ValueError, match="need"):
        evaluate_sets(TRUE_SETS, PROBABILITIES[:, :2], CLASSES, HALF)
    with pytest.raises(ValueError, match="need"):
        evaluate_sets(TRUE_SETS, PROBABILITIES, CLASSES, HALF[:2])


def test_the_bootstrap_draws_the_resamples_single_label_evaluation_draws() -> None:
    # one label per text, answered with one label: subset accuracy is accuracy, resample by
    # resample, so its interval is the single-label report's accuracy interval
    rng = np.random.default_rng(9)
    truth = rng.integers(0, 3, 80)
    guess = np.where(rng.random(80) < 0.7, truth, rng.integers(0, 3, 80))
    metrics = evaluate_sets([(CLASSES[t],) for t in truth], np.eye(3)[guess], CLASSES, HALF)
    single = bootstrap_intervals([CLASSES[t] for t in truth], [CLASSES[g] for g in guess])
    assert metrics["confidence_intervals"]["subset_accuracy"] == single["accuracy"]
