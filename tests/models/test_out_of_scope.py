"""The out-of-scope detector: learned from in-scope texts only, it sends texts unlike every
training text aside, keeps the share of in-scope texts it was asked to, and rides beside its
model through saving, loading and refitting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.corpus import corpus_rows
from textloop.models import families
from textloop.models.base import ModelResources, load_model, save_model
from textloop.models.cascade import NEVER, CascadeClassifier
from textloop.models.compose import compose
from textloop.models.out_of_scope import OutOfScopeDetector, attach, detector_of

ROWS = corpus_rows(per_label=40)
TRAIN, VALIDATION, TEST = ROWS[:72], ROWS[72:96], ROWS[96:]
ELSEWHERE = [  # about none of sport, finance and weather
    "how long should sourdough bread rise before baking",
    "a poem about the quiet of the moon over the sea",
    "my cat keeps knocking the glasses off the kitchen table",
    "which verb tense does this sentence in french need",
]


def texts(rows: list[tuple[str, str]]) -> list[str]:
    return [text for text, _ in rows]


@pytest.fixture(scope="module")
def model() -> object:
    """An ``embedding`` model, calibrated on validation as training composes it."""
    embedding = families.create("embedding", ModelResources())
    fitted = {"embedding": embedding.fit(texts(TRAIN), [label for _, label in TRAIN])}
    return compose(fitted, texts(VALIDATION), [label for _, label in VALIDATION]).model


@pytest.fixture(scope="module")
def detector(model: object) -> OutOfScopeDetector:
    return OutOfScopeDetector(recall=0.9).fit(model, texts(VALIDATION), texts(TRAIN))


def flagged(detector: OutOfScopeDetector, model: object, given: list[str]) -> np.ndarray:
    return detector.out_of_scope(model, given, model.predict_proba(given))  # type: ignore[attr-defined]


def test_texts_unlike_every_training_text_are_sent_aside_and_in_scope_ones_kept(
    model: object, detector: OutOfScopeDetector
) -> None:
    assert flagged(detector, model, ELSEWHERE).all()
    assert flagged(detector, model, texts(TEST)).mean() <= 0.2  # asked to keep 90 %
    assert flagged(detector, model, texts(VALIDATION)).mean() <= 0.1
    assert detector.report()["signs"] == ["probability", "nearest"]


def test_the_detector_is_saved_and_loaded_beside_its_model(
    model: object, detector: OutOfScopeDetector, tmp_path: Path
) -> None:
    save_model(attach(model, detector), tmp_path / "with")
    loaded = load_model(tmp_path / "with", ModelResources())
    again = detector_of(loaded)
    assert again is not None and again.threshold_ == detector.threshold_
    given = ELSEWHERE + texts(TEST)
    assert (flagged(again, loaded, given) == flagged(detector, model, given)).all()
    np.testing.assert_allclose(  # the saved head computes in float32
        again.scores(loaded, given, loaded.predict_proba(given)),
        detector.scores(model, given, model.predict_proba(given)),  # type: ignore[attr-defined]
        rtol=1e-3,
        atol=1e-3,
    )
    attach(model, None)
    save_model(model, tmp_path / "without")  # a model saved with none, as before
    assert detector_of(load_model(tmp_path / "without", ModelResources())) is None


def test_refitted_it_keeps_its_threshold_and_compares_with_every_text(
    model: object, detector: OutOfScopeDetector
) -> None:
    again = detector.refitted(model, texts(TRAIN + VALIDATION))
    assert again.threshold_ == detector.threshold_ and (again.centre_ == detector.centre_).all()
    assert len(again.reference_) == len(TRAIN + VALIDATION)


def test_behind_a_cascade_an_answer_as_sure_as_its_threshold_is_in_scope_unencoded(
    model: object, detector: OutOfScopeDetector
) -> None:
    """The cheap stage's sure answers are not encoded only to ask the detector."""
    ngram = families.create("ngram").fit(texts(TRAIN), [label for _, label in TRAIN])
    trusting = CascadeClassifier.fitted(ngram, model, 0.001, 0.0)  # every answer sure enough
    assert not flagged(detector, trusting, ELSEWHERE).any()
    wary = CascadeClassifier.fitted(ngram, model, 0.001, NEVER)  # none: every text looked at
    assert flagged(detector, wary, ELSEWHERE).all()


def test_a_model_without_an_encoder_has_only_its_probability_to_go_on() -> None:
    ngram = families.create("ngram").fit(texts(TRAIN), [label for _, label in TRAIN])
    alone = OutOfScopeDetector(recall=0.9).fit(ngram, texts(VALIDATION), texts(TRAIN))
    assert alone.report()["signs"] == ["probability"] and len(alone.reference_) == 0
    assert flagged(alone, ngram, texts(VALIDATION)).mean() <= 0.1


def test_a_recall_outside_its_range_is_refused(model: object) -> None:
    with pytest.raises(ValueError, match=r"recall must be 0 or at least 0\.5 and below 1"):
        OutOfScopeDetector(recall=1.0).fit(model, texts(VALIDATION), texts(TRAIN))
