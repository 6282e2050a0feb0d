"""Multi-label models: every family that learns label sets answers one probability per label,
and the composed model decides each label at its own threshold, saved with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.corpus import label_set_rows
from textloop.models import families
from textloop.models.base import ModelResources, load_model, save_model
from textloop.models.compose import compose, compose_sets, refit, trained_family, worth_fitting
from textloop.models.multi_label import MultiLabelClassifier, is_multi_label

ROWS = label_set_rows(320)
TRAIN, VALIDATION, TEST = ROWS[:200], ROWS[200:280], ROWS[280:]


def texts(rows: list[tuple[str, tuple[str, ...]]]) -> list[str]:
    return [text for text, _ in rows]


def sets(rows: list[tuple[str, tuple[str, ...]]]) -> list[tuple[str, ...]]:
    return [labels for _, labels in rows]


@pytest.fixture(scope="module")
def ngram() -> object:
    return families.create("ngram").fit(texts(TRAIN), sets(TRAIN))


def test_ngram_learns_label_sets_with_one_independent_probability_per_label(ngram) -> None:
    probabilities = ngram.predict_proba(texts(TEST))
    assert ngram.classes_ == ["finance", "sport", "weather"]
    assert probabilities.shape == (len(TEST), 3)
    assert not np.allclose(probabilities.sum(axis=1), 1.0)  # no softmax across labels
    answered = probabilities >= 0.5
    truth = np.array([[c in labels for c in ngram.classes_] for labels in sets(TEST)])
    assert (answered == truth).mean() > 0.9


def test_a_saved_ngram_model_of_label_sets_loads_and_answers_alike(ngram, tmp_path: Path) -> None:
    save_model(ngram, tmp_path / "model")
    again = load_model(tmp_path / "model", ModelResources())
    assert again.classes_ == ngram.classes_
    assert np.allclose(again.predict_proba(texts(TEST)), ngram.predict_proba(texts(TEST)))


def test_composing_label_sets_gives_a_multi_label_model_with_a_threshold_per_label(
    ngram, tmp_path: Path
) -> None:
    composed = compose({"ngram": ngram}, texts(VALIDATION), sets(VALIDATION))
    model = composed.model
    assert is_multi_label(model) and trained_family(model) == "ngram"
    assert set(composed.validation["ngram"]) == {"micro_f1", "macro_f1", "subset_accuracy"}
    assert composed.calibration["method"] == "platt per label"
    assert set(model.thresholds()) == {"finance", "sport", "weather"}
    assert all(0.05 <= t <= 0.95 for t in model.thresholds().values())
    answers = model.predict_sets(texts(TEST))
    assert answers.count(()) >= 1  # "no label applies" is an answer
    assert sum(a == s for a, s in zip(answers, sets(TEST), strict=True)) >= len(TEST) * 0.8

    save_model(model, tmp_path / "composed")
    loaded = load_model(tmp_path / "composed", ModelResources())
    assert isinstance(loaded, MultiLabelClassifier)
    assert loaded.thresholds() == model.thresholds()
    assert loaded.predict_sets(texts(TEST)) == answers


def test_an_ensemble_of_label_sets_pools_each_label_on_its_own() -> None:
    weak = families.create("ngram", C=1.0).fit(texts(TRAIN), sets(TRAIN))
    strong = families.create("ngram").fit(texts(TRAIN), sets(TRAIN))
    tripled = VALIDATION * 3  # enough validation texts per label to choose by
    composed = compose({"ngram": strong, "weak": weak}, texts(tripled), sets(tripled))
    assert "ensemble" in composed.validation
    assert composed.model.predict_proba(texts(TEST)).shape == (len(TEST), 3)
    ensemble = families.create("ensemble", members=["ngram", "ngram"])
    ensemble.fit(texts(TRAIN), sets(TRAIN))
    assert ensemble.pooling == "logit"
    probabilities = ensemble.predict_proba(texts(TEST))
    assert probabilities.shape == (len(TEST), 3) and (probabilities <= 1).all()


def test_refitting_keeps_the_thresholds_and_teaches_validation_labels(ngram) -> None:
    composed = compose({"ngram": ngram}, texts(VALIDATION), sets(VALIDATION)).model
    again = refit(composed, texts(TRAIN + VALIDATION), sets(TRAIN + VALIDATION), ModelResources())
    assert isinstance(again, MultiLabelClassifier) and again.model is not composed.model
    assert again.thresholds() == composed.thresholds()


def test_without_validation_rows_each_label_is_decided_at_one_half(ngram) -> None:
    composed = compose_sets({"ngram": ngram}, [], [])  # no labels to tell the mode by
    assert composed.winner == "ngram" and is_multi_label(composed.model)
    assert set(composed.model.thresholds().values()) == {0.5}


def test_families_that_cannot_learn_label_sets_are_left_out_among_several() -> None:
    kept, skipped = worth_fitting(("ngram", "majority"), sets(TRAIN))
    assert kept == ["ngram"]
    assert skipped == {"majority": "does not learn label sets (multi-label) yet"}
    kept, skipped = worth_fitting(("ngram", "embedding", "finetuned"), sets(TRAIN))
    assert kept == ["ngram", "embedding"]  # 67 texts per label name: more than fine-tuning pays
    assert skipped == {"finetuned": "pays with up to 50 texts per label among several, has 67"}


def test_the_embedding_family_learns_label_sets_on_its_frozen_encoder() -> None:
    model = families.create("embedding").fit(texts(TRAIN), sets(TRAIN))
    probabilities = model.predict_proba(texts(TEST))
    assert model.classes_ == ["finance", "sport", "weather"]
    truth = np.array([[c in labels for c in model.classes_] for labels in sets(TEST)])
    assert ((probabilities >= 0.5) == truth).mean() > 0.8


def test_a_label_only_validation_carries_is_scored_after_refitting_and_decided_at_one_half(
    ngram,
) -> None:
    """The hash split may leave a rare label in validation alone: refitting on train and
    validation together teaches it, and it keeps no calibration or threshold it never had."""
    rare = [(f"a storm of fraud on the card {i}", ("fraud",)) for i in range(6)]
    composed = compose({"ngram": ngram}, texts(VALIDATION), sets(VALIDATION)).model
    rows = TRAIN + VALIDATION + rare
    again = refit(composed, texts(rows), sets(rows), ModelResources())
    assert again.classes_ == ["finance", "fraud", "sport", "weather"]
    assert again.thresholds()["fraud"] == 0.5
    assert {k: v for k, v in again.thresholds().items() if k != "fraud"} == composed.thresholds()
    assert again.predict_proba(["fraud on the card again"]).shape == (1, 4)


def test_a_family_that_cannot_learn_label_sets_is_refused_when_named_alone() -> None:
    from textloop.errors import InvalidRequest

    with pytest.raises(InvalidRequest, match="majority cannot learn label sets; a multi-label"):
        worth_fitting(("majority",), sets(TRAIN))
    with pytest.raises(InvalidRequest, match="embedding, ensemble, finetuned, ngram or auto"):
        worth_fitting(("majority",), sets(TRAIN))
