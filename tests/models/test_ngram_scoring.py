"""The n-gram family predicts with its own arithmetic on plain arrays; it must be scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from tests.processes import heavy_modules_after
from textloop.models.base import ModelResources, load_model, save_model
from textloop.models.ngram import NgramClassifier
from textloop.models.shared_predict import char_wb_ngrams, word_ngrams

AWKWARD = [
    "",
    "a",
    "I  lost\tmy card!!",
    "  leading and trailing spaces  ",
    "Ünïcödé Straße and ÉCOLE",
    "x y z ab",
    "numbers 12 345 and 6",
    "hyphen-ated, dotted.words and under_scores",
    "emoji 🙂 between words",
    "line\nbreaks\r\nand\u00a0non-breaking spaces",
]
TRAIN = [
    ("my card has not arrived yet", "card"),
    ("where is my new card", "card"),
    ("card still not here after a week", "card"),
    ("I want my money back", "refund"),
    ("refund for the wrong payment please", "refund"),
    ("how do I get a refund", "refund"),
    ("what is the exchange rate today", "rate"),
    ("rate for euros to dollars", "rate"),
    ("the exchange rate looks wrong", "rate"),
]


@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 2), (2, 3)])
def test_word_ngrams_are_scikit_learns(ngram_range: tuple[int, int]) -> None:
    analyzer = TfidfVectorizer(ngram_range=ngram_range).build_analyzer()
    for text in AWKWARD:
        assert sorted(word_ngrams(text, *ngram_range)) == sorted(analyzer(text)), text


@pytest.mark.parametrize("ngram_range", [(2, 5), (1, 4), (3, 6)])
def test_character_ngrams_are_scikit_learns(ngram_range: tuple[int, int]) -> None:
    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range).build_analyzer()
    for text in AWKWARD:
        assert sorted(char_wb_ngrams(text, *ngram_range)) == sorted(analyzer(text)), text


@pytest.mark.parametrize("classes", [3, 2])
def test_probabilities_are_the_pipelines(classes: int) -> None:
    rows = [(text, label) for text, label in TRAIN if label in ("card", "refund", "rate")[:classes]]
    model = NgramClassifier().fit([t for t, _ in rows], [label for _, label in rows])
    texts = [*AWKWARD, "my refund card", "exchange", "nothing known here: qqq"]
    ours = model.predict_proba(texts)
    theirs = model.pipeline_.predict_proba(texts)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_a_saved_model_predicts_the_same_without_importing_scikit_learn(tmp_path) -> None:
    model = NgramClassifier().fit([t for t, _ in TRAIN], [label for _, label in TRAIN])
    save_model(model, tmp_path / "model")
    loaded = load_model(tmp_path / "model", ModelResources())
    texts = ["card not here", "refund please", *AWKWARD]
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=1e-12)
    assert loaded.classes_ == model.classes_
    code = (
        "from pathlib import Path\n"
        "from textloop.models.base import ModelResources, load_model\n"
        f"model = load_model(Path({str(tmp_path / 'model')!r}), ModelResources())\n"
        "model.predict_proba(['card not here'])"
    )
    assert "sklearn" not in heavy_modules_after(code)


def test_a_loaded_model_saved_again_is_the_same_bytes(tmp_path) -> None:
    """A registered candidate is saved again from what was loaded: its content hash, and so
    every cached step after it, must not change."""
    model = NgramClassifier().fit([t for t, _ in TRAIN], [label for _, label in TRAIN])
    save_model(model, tmp_path / "first")
    save_model(load_model(tmp_path / "first", ModelResources()), tmp_path / "again")
    for name in ("scorer.npz", "pipeline.joblib", "ngram.json", "model.json"):
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()


def test_long_terms_are_stored_at_their_own_length(tmp_path) -> None:
    """A token with no spaces (a hash, a URL, text written without spaces) is one long term; the
    others must not each take its width (a fixed-width array here would be about 1 MB)."""
    long_word = "x" * 5_000
    texts = [text for text, _ in TRAIN]
    texts[0] = f"{texts[0]} {long_word}"
    model = NgramClassifier().fit(texts, [label for _, label in TRAIN])
    save_model(model, tmp_path / "model")
    assert (tmp_path / "model" / "scorer.npz").stat().st_size < 200_000
    loaded = load_model(tmp_path / "model", ModelResources())
    probe = [f"the match {long_word}", "shares fell"]
    np.testing.assert_allclose(loaded.predict_proba(probe), model.predict_proba(probe), atol=1e-12)
