"""A set cascade answers with the cheap n-gram model's label set where that model is sure of the
whole set, and with the full model's otherwise; its threshold is the lowest that keeps micro-F1
within the allowed drop, and served it is one multi-label model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.corpus import label_set_rows
from textloop.models import families
from textloop.models.base import ModelResources, load_model, save_model
from textloop.models.cascade import NEVER
from textloop.models.compose import compose_sets, refit
from textloop.models.ensemble import EnsembleClassifier
from textloop.models.multi_label import MultiLabelClassifier, is_multi_label
from textloop.models.ngram import NgramClassifier
from textloop.models.set_cascade import SetCascadeClassifier, choose_set_threshold
from textloop.models.shared_predict import carried

ROWS = label_set_rows(320)
TRAIN, VALIDATION, TEST = ROWS[:200], ROWS[200:280], ROWS[280:]
TEXTS = [text for text, _ in TEST]


def texts(rows: list[tuple[str, tuple[str, ...]]]) -> list[str]:
    return [text for text, _ in rows]


def sets(rows: list[tuple[str, tuple[str, ...]]]) -> list[tuple[str, ...]]:
    return [labels for _, labels in rows]


class Expensive(NgramClassifier):
    """Stands for a family with an encoder: never cheap enough to answer first."""

    first_stage = False


@pytest.fixture(scope="module")
def fitted() -> dict[str, object]:
    """The full model's family, and an n-gram model weaker than it (fewer texts, a stronger
    penalty), so that it is sure of some sets only."""
    return {
        "expensive": Expensive().fit(texts(TRAIN), sets(TRAIN)),
        "ngram": families.create("ngram", C=0.3).fit(texts(TRAIN[:60]), sets(TRAIN[:60])),
    }


@pytest.fixture(scope="module")
def shared(fitted: dict[str, object]) -> SetCascadeClassifier:
    """The n-gram model first, and inside the full model's ensemble: the usual shape."""
    rows = texts(VALIDATION), sets(VALIDATION)
    members = [fitted["ngram"], fitted["expensive"]]
    full = MultiLabelClassifier(EnsembleClassifier.from_fitted(members, [0.3, 0.7], "logit"))
    first = MultiLabelClassifier(fitted["ngram"]).fit(*rows)
    return SetCascadeClassifier(first, full.fit(*rows), max_drop=0.1).fit(*rows)


def test_the_threshold_lets_sets_through_until_micro_f1_drops_too_far() -> None:
    thresholds = np.array([0.5, 0.5])
    first = np.array([[0.99, 0.01], [0.01, 0.98], [0.95, 0.9], [0.8, 0.2]])
    truth = np.array([[1, 0], [0, 1], [1, 0], [1, 0]])  # the first stage adds one label, at 0.855
    full = truth * 0.9 + 0.05  # right everywhere
    confidence = [0.9801, 0.9702, 0.855, 0.64]  # its confidence in each whole set

    def threshold(max_drop: float) -> float:
        return choose_set_threshold((first, thresholds), (full, thresholds), truth, max_drop)

    # answering the third text early costs a ninth of micro-F1 (8/9 for 1), and stops there
    assert threshold(0.1) == pytest.approx(confidence[1])
    assert threshold(0.12) == pytest.approx(confidence[3])
    wrong_first = np.array([[0.01, 0.01], *first[1:]])  # misses the surest text's label
    assert choose_set_threshold((wrong_first, thresholds), (full, thresholds), truth, 0.0) == NEVER


def test_an_early_answer_keeps_its_set_and_every_probability_its_thresholds_agree_on() -> None:
    """Only a probability between its label's two thresholds moves, just across the full
    model's threshold, to the side the first stage decided."""
    first_thresholds, full_thresholds = np.array([0.3, 0.6, 0.5]), np.array([0.5, 0.4, 0.5])
    early = np.array([[0.35, 0.5, 0.9], [0.1, 0.7, 0.2]])
    moved = carried(early, first_thresholds, full_thresholds)
    assert ((moved >= full_thresholds) == (early >= first_thresholds)).all()  # the same set
    assert moved[0, 0] == 0.5 and moved[0, 1] < 0.4  # between the thresholds: across
    assert moved[0, 2] == 0.9 and (moved[1] == early[1]).all()  # elsewhere: as they were


def test_composing_puts_the_n_gram_model_first_and_answers_its_sets_where_it_is_sure(
    fitted: dict[str, object],
) -> None:
    validation = texts(VALIDATION), sets(VALIDATION)
    composed = compose_sets(fitted, *validation, cascade_max_drop=0.1)
    model = composed.model
    assert isinstance(model, SetCascadeClassifier) and is_multi_label(model)
    assert composed.cascade["first"] == "ngram" and composed.cascade["answered_early"] > 0
    assert composed.cascade["threshold"] == round(model.threshold_, 4)
    assert model.thresholds() == model.full.thresholds()  # decided where the full model decides

    sure = model.sure(model.first.predict_proba(TEXTS))
    assert 0 < sure.sum() < len(TEXTS)
    parts = zip(model.first.predict_sets(TEXTS), model.full.predict_sets(TEXTS), sure, strict=True)
    assert model.predict_sets(TEXTS) == [first if s else full for first, full, s in parts]
    assert (model.answered_early, model.answered) == (int(sure.sum()), len(TEXTS))

    cheap_only = compose_sets({"ngram": fitted["ngram"]}, *validation, cascade_max_drop=0.1)
    assert type(cheap_only.model) is MultiLabelClassifier and cheap_only.cascade == {}


def test_a_set_cascade_saves_loads_and_refits_to_the_same_answers(
    shared: SetCascadeClassifier, tmp_path: Path
) -> None:
    save_model(shared, tmp_path / "model")
    assert not (tmp_path / "model" / "first").exists()  # the member is saved once
    loaded = load_model(tmp_path / "model", ModelResources())
    assert isinstance(loaded, SetCascadeClassifier)
    assert loaded.first.model is loaded.full.model.models_[0]
    assert loaded.threshold_ == shared.threshold_
    assert loaded.predict_sets(TEXTS) == shared.predict_sets(TEXTS)
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), shared.predict_proba(TEXTS))

    rows = TRAIN + VALIDATION
    again = refit(shared, texts(rows), sets(rows), ModelResources())
    assert isinstance(again, SetCascadeClassifier) and again.threshold_ == shared.threshold_
    assert again.first.model is again.full.model.models_[0] is not shared.first.model
    assert again.first.thresholds() == shared.first.thresholds()
    save_model(again, tmp_path / "refitted")
    back = load_model(tmp_path / "refitted", ModelResources())
    np.testing.assert_allclose(back.predict_proba(TEXTS), again.predict_proba(TEXTS))
