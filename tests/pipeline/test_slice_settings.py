"""Slice columns are a classifier setting: named once, kept by later trains and retrains."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.corpus import corpus_rows
from textloop.config import Settings
from textloop.continuous.retrain import retrain
from textloop.data.datasets import ingest_table
from textloop.pipeline.training import train_classifier
from textloop.store.database import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import ModelVersion


def _ingest(store: Store, settings: Settings, with_channel: bool, per_label: int = 40) -> None:
    rows = corpus_rows(per_label)
    columns: dict[str, list[str]] = {
        "text": [text for text, _ in rows],
        "label": [label for _, label in rows],
    }
    if with_channel:
        columns["extra:channel"] = ["email" if i % 3 else "chat" for i in range(len(rows))]
    with store.session() as session:
        ingest_table(session, "topics", pa.table(columns), "file", settings.split_fractions)


def _channels(metrics: dict[str, Any]) -> set[str]:
    return {name for name in metrics.get("slices", {}) if name.startswith("channel=")}


def test_a_retrain_without_a_flag_keeps_the_slice_columns_of_the_first_train(
    store: Store, settings: Settings
) -> None:
    _ingest(store, settings, with_channel=True)
    first = train_classifier(store, settings, "topics", "ngram", slice_columns=("channel",))
    assert _channels(first.test_metrics) == {"channel=email", "channel=chat"}
    with store.session() as session:
        assert get_classifier(session, "topics").slice_columns == ["channel"]

    result = retrain(store, settings, "topics", {"model": "ngram", "trigger": "manual"})

    with store.session() as session:
        classifier = get_classifier(session, "topics")
        newest = max(classifier_models(session, classifier.id), key=lambda m: m.version)
        assert newest.version == result["version"]
        assert _channels(newest.metrics["test"]) == {"channel=email", "channel=chat"}


def test_a_later_train_without_the_flag_uses_the_setting_and_an_empty_list_clears_it(
    store: Store, settings: Settings
) -> None:
    _ingest(store, settings, with_channel=True)
    train_classifier(store, settings, "topics", "ngram", slice_columns=("channel",))
    again = train_classifier(store, settings, "topics", "ngram", use_cache=False)
    assert _channels(again.test_metrics)
    cleared = train_classifier(store, settings, "topics", "ngram", slice_columns=())
    assert not _channels(cleared.test_metrics)
    with store.session() as session:
        assert get_classifier(session, "topics").slice_columns is None


def test_a_stored_column_a_newer_dataset_lacks_is_skipped_not_an_error(
    store: Store, settings: Settings
) -> None:
    _ingest(store, settings, with_channel=True)
    train_classifier(store, settings, "topics", "ngram", slice_columns=("channel",))
    _ingest(store, settings, with_channel=False, per_label=35)
    report = train_classifier(store, settings, "topics", "ngram")
    assert report.dataset_version == 2
    assert not _channels(report.test_metrics)
    with store.session() as session:
        assert get_classifier(session, "topics").slice_columns == ["channel"]


def classifier_models(session: Session, classifier_id: int) -> list[ModelVersion]:
    query = select(ModelVersion).where(ModelVersion.classifier_id == classifier_id)
    return list(session.scalars(query))
