"""A cascade answers with its cheap first stage where that is sure, and with the full model
otherwise; its threshold is the lowest that keeps accuracy within the allowed drop."""

from __future__ import annotations

import numpy as np
import pytest

from textloop.models import families
from textloop.models.base import ModelResources, load_model, save_model
from textloop.models.calibrated import CalibratedClassifier
from textloop.models.cascade import NEVER, CascadeClassifier, choose_threshold
from textloop.models.checks import TRAIN
from textloop.models.ensemble import EnsembleClassifier

CLASSES = ["a", "b"]


def rows(*confidences_and_labels: tuple[float, str]) -> np.ndarray:
    """First-stage probabilities for two classes: (confidence in its guess, its guess)."""
    return np.array(
        [[c, 1 - c] if guess == "a" else [1 - c, c] for c, guess in confidences_and_labels]
    )


def test_the_threshold_lets_through_every_text_the_first_stage_gets_right() -> None:
    first = rows((0.99, "a"), (0.95, "b"), (0.90, "a"), (0.60, "b"))
    full = rows((0.9, "a"), (0.9, "b"), (0.9, "a"), (0.9, "a"))
    truth = ["a", "b", "a", "a"]  # the first stage is wrong only at 0.60
    assert choose_threshold(first, full, truth, CLASSES, max_drop=0.0) == 0.90


def test_the_threshold_stops_before_the_first_stretch_that_costs_too_much() -> None:
    first = rows((0.99, "a"), (0.95, "a"), (0.90, "a"), (0.85, "a"))
    full = rows((0.9, "a"), (0.9, "b"), (0.9, "a"), (0.9, "a"))
    truth = ["a", "b", "a", "a"]  # wrong at 0.95, where the full model is right
    assert choose_threshold(first, full, truth, CLASSES, max_drop=0.0) == 0.99
    # a quarter of the rows may be lost: every text goes early, for one wrong answer in four
    assert choose_threshold(first, full, truth, CLASSES, max_drop=0.25) == 0.85


def test_no_threshold_when_even_the_surest_text_costs_accuracy() -> None:
    first = rows((0.99, "b"), (0.5, "a"))
    full = rows((0.9, "a"), (0.9, "a"))
    assert choose_threshold(first, full, ["a", "a"], CLASSES, max_drop=0.0) == NEVER


def test_ties_go_through_together_or_not_at_all() -> None:
    first = rows((0.9, "a"), (0.9, "b"))
    full = rows((0.9, "a"), (0.9, "a"))
    assert choose_threshold(first, full, ["a", "a"], CLASSES, max_drop=0.0) == NEVER


def fitted_pair() -> tuple[CalibratedClassifier, CalibratedClassifier, list[str], list[str]]:
    texts, labels = [t for t, _ in TRAIN], [label for _, label in TRAIN]
    cheap = families.create("ngram", C=0.5).fit(texts, labels)
    other = families.create("ngram").fit(texts, labels)
    ensemble = EnsembleClassifier.from_fitted([cheap, other], [0.5, 0.5])
    full = CalibratedClassifier(ensemble).fit(texts, labels)
    return CalibratedClassifier(cheap).fit(texts, labels), full, texts, labels


def test_it_answers_early_only_where_the_first_stage_is_sure() -> None:
    first, full, texts, labels = fitted_pair()
    cascade = CascadeClassifier(first, full, max_drop=0.5).fit(texts, labels)
    cascade.threshold_ = float(np.median(cascade.first_probabilities(texts).max(axis=1)))
    probabilities = cascade.predict_proba(texts)
    early, everything = cascade.both(texts)
    sure = cascade.sure(early)
    assert 0 < sure.sum() < len(texts)
    np.testing.assert_allclose(probabilities[sure], early[sure])
    np.testing.assert_allclose(probabilities[~sure], everything[~sure])
    assert (cascade.answered_early, cascade.answered) == (int(sure.sum()), len(texts))


def test_a_first_stage_inside_the_full_model_is_saved_and_loaded_once(tmp_path) -> None:
    first, full, texts, labels = fitted_pair()
    cascade = CascadeClassifier(first, full).fit(texts, labels)
    save_model(cascade, tmp_path / "model")
    assert not (tmp_path / "model" / "first").exists()
    loaded = load_model(tmp_path / "model", ModelResources())
    assert loaded.first.model is loaded.full.model.models_[0]
    assert loaded.threshold_ == cascade.threshold_
    np.testing.assert_allclose(loaded.predict_proba(texts), cascade.predict_proba(texts))


def test_a_cascade_of_unfitted_models_is_refused() -> None:
    with pytest.raises(ValueError, match="already fitted"):
        CascadeClassifier(families.create("ngram"), families.create("ngram")).fit(["x"], ["a"])


def test_an_empty_call_answers_nothing() -> None:
    first, full, texts, labels = fitted_pair()
    cascade = CascadeClassifier(first, full).fit(texts, labels)
    assert cascade.predict_proba([]).shape == (0, len(cascade.classes_))


def test_a_tie_is_judged_by_its_whole_run_whatever_the_order_of_its_rows() -> None:
    # at 0.9 the first stage loses one text the full model gets and wins one it misses
    for order in ([0, 1], [1, 0]):
        first = rows((0.9, "b"), (0.9, "a"))[order]
        full = rows((0.9, "a"), (0.9, "b"))[order]
        truth = [["a", "a"][i] for i in order]
        assert choose_threshold(first, full, truth, CLASSES, max_drop=0.0) == 0.9
