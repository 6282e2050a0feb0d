"""Dataset versions are content-addressed snapshots of cleaned rows."""

from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import func, select

from textloop.config import Settings
from textloop.data.datasets import ingest_table, load_splits, with_fixed_test_split
from textloop.data.readers import read_labelled_file
from textloop.store import Store
from textloop.store.tables import Example

pytestmark = pytest.mark.storage


def ingest(store: Store, settings: Settings, table: pa.Table, name: str = "topics"):
    with store.session() as session:
        return ingest_table(session, name, table, "test", settings.split_fractions)


def test_ingesting_the_same_content_twice_creates_nothing_new(
    store: Store, settings: Settings, corpus_csv: Path
) -> None:
    table = read_labelled_file(corpus_csv)
    first = ingest(store, settings, table)
    again = ingest(store, settings, table.take(list(reversed(range(table.num_rows)))))
    assert first.created and not again.created
    assert again.version == first.version == 1
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Example)) == table.num_rows


def test_new_content_makes_the_next_version(
    store: Store, settings: Settings, corpus_csv: Path
) -> None:
    table = read_labelled_file(corpus_csv)
    ingest(store, settings, table)
    second = ingest(store, settings, table.slice(0, 60))
    assert second.created and second.version == 2 and second.rows == 60


def test_rows_without_text_or_label_are_dropped_and_counted(
    store: Store, settings: Settings
) -> None:
    table = pa.table({"text": ["good one", "  ", "no label", "x y"], "label": ["a", "b", "", "b"]})
    result = ingest(store, settings, table)
    assert (result.rows, result.dropped) == (2, 2)
    assert result.labels == ["a", "b"]


def test_splits_are_stored_with_every_example(
    store: Store, settings: Settings, corpus_csv: Path
) -> None:
    result = ingest(store, settings, read_labelled_file(corpus_csv))
    with store.session() as session:
        splits = load_splits(session, result.dataset_version_id)
    assert {name: len(texts) for name, (texts, _) in splits.items()} == result.split_counts
    assert set(splits) == {"train", "validation", "test"}


def test_a_fixed_test_file_becomes_the_whole_test_split() -> None:
    development = pa.table({"text": [f"text {i}" for i in range(200)], "label": ["a"] * 200})
    test = pa.table({"text": ["held out 1", "held out 2"], "label": ["a", "a"]})
    combined = with_fixed_test_split(
        development, test, {"train": 0.8, "validation": 0.1, "test": 0.1}
    )
    splits = combined.column("split").to_pylist()
    assert splits[-2:] == ["test", "test"]
    assert set(splits[:-2]) == {"train", "validation"}
