"""Temperature scaling keeps every prediction and makes confidence match accuracy."""

import numpy as np
import pytest

from textloop.models import families
from textloop.models.calibrated import CalibratedClassifier, fit_temperature
from textloop.models.checks import TRAIN
from textloop.models.shared_predict import rescale
from textloop.pipeline.evaluation import bootstrap_intervals, evaluate, expected_calibration_error


def overconfident(rows: int = 4000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Three-class probabilities that are right 70 % of the time but claim about 97 %."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, rows)
    guess = np.where(rng.random(rows) < 0.7, truth, (truth + 1) % 3)
    logits = rng.normal(0, 0.3, (rows, 3))
    logits[np.arange(rows), guess] += 4.0
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return probabilities, truth


def test_rescaling_never_changes_the_predicted_label() -> None:
    probabilities, _ = overconfident()
    for temperature in (0.3, 1.0, 4.0):
        scaled = rescale(probabilities, temperature)
        assert np.array_equal(scaled.argmax(axis=1), probabilities.argmax(axis=1))
        assert np.allclose(scaled.sum(axis=1), 1.0)


def test_a_fitted_temperature_removes_overconfidence() -> None:
    probabilities, truth = overconfident()
    correct = probabilities.argmax(axis=1) == truth
    before = expected_calibration_error(probabilities.max(axis=1), correct)
    temperature = fit_temperature(probabilities, truth)
    after = expected_calibration_error(rescale(probabilities, temperature).max(axis=1), correct)
    assert temperature > 1.5
    assert before > 0.2 and after < 0.03


def test_ece_of_a_hand_computed_example() -> None:
    confidence = np.array([0.9, 0.9, 0.6, 0.6])
    correct = np.array([True, False, True, True])
    # bin 0.9: accuracy 0.5 vs 0.9; bin 0.6: accuracy 1.0 vs 0.6 -> 0.5 * 0.4 + 0.5 * 0.4
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.4)


def test_bootstrap_interval_brackets_the_measured_accuracy() -> None:
    truth = ["a"] * 80 + ["b"] * 20
    guess = ["a"] * 70 + ["b"] * 10 + ["b"] * 15 + ["a"] * 5
    low, high = bootstrap_intervals(truth, guess)["accuracy"]
    assert low < 0.85 < high
    assert high - low < 0.2


def test_evaluation_reports_ece_intervals_and_length_slices() -> None:
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    metrics = evaluate(
        ["a", "b", "b"], probabilities, ["a", "b"], texts=["hi", "x" * 120, "y" * 300]
    )
    assert {"ece", "confidence_intervals", "slices"} <= set(metrics)
    assert {name: s["rows"] for name, s in metrics["slices"].items()} == {
        "length 1-50 chars": 1,
        "length 101-200 chars": 1,
        "length >200 chars": 1,
    }


def test_a_calibrated_model_saves_and_loads_with_its_temperature(tmp_path) -> None:
    from textloop.models.base import ModelResources, load_model, save_model

    texts, labels = [t for t, _ in TRAIN], [label for _, label in TRAIN]
    inner = families.create("ngram").fit(texts, labels)
    calibrated = CalibratedClassifier(inner).fit(texts, labels)
    assert calibrated.classes_ == inner.classes_
    assert np.array_equal(
        calibrated.predict_proba(texts).argmax(axis=1), inner.predict_proba(texts).argmax(axis=1)
    )
    save_model(calibrated, tmp_path / "model")
    loaded = load_model(tmp_path / "model", ModelResources())
    assert loaded.temperature_ == calibrated.temperature_
    assert np.allclose(loaded.predict_proba(texts), calibrated.predict_proba(texts))


def test_calibrating_needs_a_fitted_model() -> None:
    texts, labels = [t for t, _ in TRAIN], [label for _, label in TRAIN]
    with pytest.raises(ValueError, match="already fitted model"):
        CalibratedClassifier().fit(texts, labels)
