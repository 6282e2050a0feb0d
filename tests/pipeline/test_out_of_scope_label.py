"""Data that carries its own out-of-scope examples under a label (``--out-of-scope-label``): the
model learns the label as a class and answers it "out of scope"; the label is a classifier setting
that later trains keep; an out-of-scope test file is measured beside the test split."""

from __future__ import annotations

import csv
import dataclasses
import random
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.corpus import corpus_rows
from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.errors import InvalidRequest
from textloop.models.base import ModelResources, load_model
from textloop.models.out_of_scope import detector_of, out_of_scope_flags
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.predict.classify import classify
from textloop.predict.model_cache import ModelCache
from textloop.registry.aliases import PRODUCTION, set_alias
from textloop.store import Store
from textloop.store.queries import get_classifier, get_model_version
from textloop.store.tables import ReviewTask

KITCHEN = ["recipe", "oven", "flour", "garlic", "simmer", "butter", "saucepan", "dough"]
ELSEWHERE = ["a poem about the moon and the sea", "how to tune a guitar string by ear"]


def kitchen_rows(count: int = 40, seed: int = 3) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [
        (f"mix the {a} with the {b} before dinner (note {i})", "oos")
        for i, (a, b) in enumerate(rng.sample(KITCHEN, 2) for _ in range(count))
    ]


@pytest.fixture
def with_examples(store: Store, settings: Settings, tmp_path: Path) -> Store:
    rows = [*corpus_rows(per_label=40), *kitchen_rows()]
    random.Random(0).shuffle(rows)
    path = tmp_path / "corpus.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "label"), *rows])
    ingest_batch(store, settings, "topics", read_labelled_file(path), "corpus")
    return store


def stored_label(store: Store) -> str | None:
    with store.session() as session:
        return get_classifier(session, "topics").out_of_scope_label


def test_the_out_of_scope_label_is_learned_and_answered_out_of_scope(
    with_examples: Store, settings: Settings
) -> None:
    report = train_classifier(with_examples, settings, "topics", "ngram", out_of_scope_label="oos")
    assert report.out_of_scope["label"] == "oos"
    tested = report.test_metrics["out_of_scope"]
    assert tested["out_of_scope_texts"] > 0  # the test split's own rows of the label
    assert tested["out_of_scope_recall"] >= 0.8 and tested["out_of_scope_precision"] >= 0.8
    assert "auroc" not in tested  # the label alone ranks nothing
    with with_examples.session() as session:
        record = get_model_version(session, get_classifier(session, "topics"), report.version)
        model = load_model(artifacts_for(settings).local(record.artifact_uri), ModelResources())
    assert "oos" in model.classes_ and detector_of(model) is not None
    texts = ["stir the garlic into the butter in the saucepan", "the striker and the goal"]
    flags = out_of_scope_flags(model, texts, model.predict_proba(texts))
    assert flags is not None and flags.tolist() == [True, False]
    assert stored_label(with_examples) == "oos"


def test_later_trains_keep_the_label_until_it_is_cleared(
    with_examples: Store, settings: Settings
) -> None:
    train_classifier(with_examples, settings, "topics", "ngram", out_of_scope_label="oos")
    again = train_classifier(with_examples, settings, "topics", "ngram")
    assert again.out_of_scope["label"] == "oos"
    cleared = train_classifier(with_examples, settings, "topics", "ngram", out_of_scope_label="")
    assert cleared.out_of_scope == {} and stored_label(with_examples) is None


def test_a_label_no_row_carries_is_refused_and_nothing_is_stored(
    with_examples: Store, settings: Settings
) -> None:
    with pytest.raises(InvalidRequest, match=r"no row of dataset version 1 .* 'other'"):
        train_classifier(with_examples, settings, "topics", "ngram", out_of_scope_label="other")
    assert stored_label(with_examples) is None


def test_an_out_of_scope_test_file_is_measured_with_recall_precision_and_auroc(
    with_examples: Store, settings: Settings
) -> None:
    on = dataclasses.replace(settings, out_of_scope_recall=0.95)
    report = train_classifier(
        with_examples, on, "topics", "ngram", out_of_scope_label="oos", out_of_scope_test=ELSEWHERE
    )
    tested = report.test_metrics["out_of_scope"]
    split_rows = tested["out_of_scope_texts"] - len(ELSEWHERE)
    assert split_rows > 0
    assert {"out_of_scope_recall", "out_of_scope_precision"} <= tested.keys()
    # a text answered with the label ranks as out of scope, however sure the model was of it
    assert tested["auroc"] >= 0.9


def test_an_out_of_scope_test_with_no_detector_to_measure_is_refused(
    with_examples: Store, settings: Settings
) -> None:
    with pytest.raises(InvalidRequest, match="an out-of-scope test needs an out-of-scope"):
        train_classifier(with_examples, settings, "topics", "ngram", out_of_scope_test=ELSEWHERE)


def test_a_sure_answer_of_the_label_is_out_of_scope_but_asks_no_person(
    with_examples: Store, settings: Settings
) -> None:
    """The model learned the label like any other: a sure answer of it is out of scope, yet
    no review task and no sign of a new kind of text, as a text unlike the training data is."""
    report = train_classifier(with_examples, settings, "topics", "ngram", out_of_scope_label="oos")
    with with_examples.session() as session:
        set_alias(session, "topics", PRODUCTION, report.version)
    cache = ModelCache(artifacts_for(settings), ModelResources())
    text = "mix the garlic with the butter before dinner (note 3)"
    (answer,) = classify(with_examples, cache, "topics", [text])
    assert answer.out_of_scope is True and answer.confidence >= 0.5
    assert answer.review is False
    with with_examples.session() as session:
        assert session.scalars(select(ReviewTask)).all() == []
