"""Extra columns of the user's file are kept per example and read back for evaluation slices."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from textloop.config import Settings
from textloop.data.datasets import (
    load_split_columns,
    load_splits,
    with_fixed_test_split,
)
from textloop.data.readers import read_labelled_bytes, read_labelled_file
from textloop.errors import DataError
from textloop.pipeline.ingestion import ingest_batch
from textloop.store import Store
from textloop.store.tables import Artifact, DatasetVersion, Example

pytestmark = pytest.mark.storage

CHANNELS = ["web", "email", "phone"]


def write_rows(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def channel_csv(path: Path, rows: int = 60, channel_of=lambda i: CHANNELS[i % 3]) -> Path:
    lines = [
        f"message number {i} about {('cards', 'loans')[i % 2]},{'ab'[i % 2]},{channel_of(i)}"
        for i in range(rows)
    ]
    return write_rows(path, "text,label,channel", lines)


def ingest(store: Store, settings: Settings, table: pa.Table, name: str = "support"):
    return ingest_batch(store, settings, name, table, "test")


def test_readers_keep_every_other_column_as_text_under_a_prefix(tmp_path: Path) -> None:
    path = write_rows(
        tmp_path / "d.csv", "id,text,label,channel,score", ["1,hi,a,web,0.5", "2,yo,b,,"]
    )
    table = read_labelled_file(path)
    assert table.column_names == ["text", "label", "extra:id", "extra:channel", "extra:score"]
    assert table.column("extra:id").to_pylist() == ["1", "2"]
    assert table.column("extra:channel").to_pylist() == ["web", ""]
    assert table.column("extra:score").to_pylist() == ["0.5", ""]


def test_a_column_named_text_that_is_not_the_text_column_is_an_extra(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "d.csv", "utterance,intent,text", ["hi,a,note"])
    table = read_labelled_file(path, text_column="utterance", label_column="intent")
    assert table.to_pydict() == {"text": ["hi"], "label": ["a"], "extra:text": ["note"]}


def test_jsonl_extras_are_text_and_nested_values_are_dropped(tmp_path: Path) -> None:
    rows = [
        {"text": "hi", "label": "a", "language": "en", "stars": 4, "tags": ["x"]},
        {"text": "hola", "label": "b", "language": None, "stars": 5, "tags": []},
    ]
    data = "\n".join(json.dumps(row) for row in rows).encode()
    table = read_labelled_bytes(data, "jsonl", "upload")
    assert table.to_pydict() == {
        "text": ["hi", "hola"],
        "label": ["a", "b"],
        "extra:language": ["en", None],
        "extra:stars": ["4", "5"],
    }


def test_a_split_column_is_not_an_extra(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "d.csv", "text,label,split,channel", ["hi,a,train,web"])
    table = read_labelled_file(path, split_column="split")
    assert table.column_names == ["text", "label", "split", "extra:channel"]


def test_ingest_keeps_the_channel_of_every_row_in_load_splits_order(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    table = read_labelled_file(channel_csv(tmp_path / "d.csv"))
    result = ingest(store, settings, table)
    assert result.extra_columns == ["channel"]
    expected = {
        f"message number {i} about {('cards', 'loans')[i % 2]}": CHANNELS[i % 3] for i in range(60)
    }
    with store.session() as session:
        splits = load_splits(session, result.dataset_version_id)
        for split, (texts, _labels) in splits.items():
            columns = load_split_columns(session, result.dataset_version_id, split, ["channel"])
            assert columns["channel"] == [expected[text] for text in texts]
        stored = session.scalars(select(Example.extras)).all()
        properties = session.scalars(
            select(Artifact.properties).where(Artifact.type == "dataset")
        ).one()
    assert set(splits) == {"train", "validation", "test"}
    assert {extras["channel"] for extras in stored} == set(CHANNELS)
    assert properties["extra_columns"] == ["channel"]


def test_extra_values_are_stored_as_written_and_only_null_is_missing(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    rows = [
        {"text": "one", "label": "a", "channel": "web"},
        {"text": "two", "label": "b", "channel": " "},
        {"text": "three", "label": "a", "channel": ""},
        {"text": "four", "label": "b", "channel": None},
        {"text": "five", "label": "a"},
    ]
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    table = read_labelled_file(path)
    result = ingest(store, settings, table)
    with store.session() as session:
        texts = [
            text
            for texts, _ in load_splits(session, result.dataset_version_id).values()
            for text in texts
        ]
        values = [
            value
            for split in load_splits(session, result.dataset_version_id)
            for value in load_split_columns(session, result.dataset_version_id, split, ["channel"])[
                "channel"
            ]
        ]
    assert dict(zip(texts, values, strict=True)) == {
        "one": "web",
        "two": " ",
        "three": "",
        "four": None,
        "five": None,
    }


def test_a_file_without_extra_columns_stores_none_and_ingests_once(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    path = write_rows(
        tmp_path / "d.csv", "text,label", [f"row {i},{'ab'[i % 2]}" for i in range(30)]
    )
    first = ingest(store, settings, read_labelled_file(path))
    again = ingest(store, settings, read_labelled_file(path))
    assert first.created and not again.created
    assert first.dataset_version_id == again.dataset_version_id
    assert first.extra_columns == again.extra_columns == []
    with store.session() as session:
        assert set(session.scalars(select(Example.extras)).all()) == {None}
        assert (
            "extra_columns"
            not in session.scalars(
                select(Artifact.properties).where(Artifact.type == "dataset")
            ).one()
        )


def test_extra_columns_and_their_values_count_in_the_content_hash(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    plain = write_rows(tmp_path / "plain.csv", "text,label", [f"row {i},a" for i in range(30)])
    web = channel_csv(tmp_path / "web.csv", 30, lambda i: "web")
    phone = channel_csv(tmp_path / "phone.csv", 30, lambda i: "web" if i else "phone")
    plain_result = ingest(store, settings, read_labelled_file(plain), name="plain")
    web_result = ingest(store, settings, read_labelled_file(web), name="plain")
    assert web_result.created and web_result.version == 2
    # the same rows with and without the extra column:
    web_plain = read_labelled_file(web).select(["text", "label"])
    with_plain = ingest(store, settings, web_plain, name="plain")
    assert with_plain.created and with_plain.version == 3
    # two files that differ in one extra value only:
    phone_result = ingest(store, settings, read_labelled_file(phone), name="plain")
    assert phone_result.created and phone_result.version == 4
    again = ingest(store, settings, read_labelled_file(phone), name="plain")
    assert not again.created and again.version == 4 and again.extra_columns == ["channel"]
    with store.session() as session:
        hashes = session.scalars(select(DatasetVersion.content_hash)).all()
    assert len(set(hashes)) == 4
    assert plain_result.created


def test_naming_a_missing_column_names_the_ones_that_exist(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    path = write_rows(
        tmp_path / "d.csv",
        "text,label,channel,language",
        [f"row {i},a,web,en" for i in range(20)],
    )
    result = ingest(store, settings, read_labelled_file(path))
    with store.session() as session, pytest.raises(DataError) as error:
        load_split_columns(session, result.dataset_version_id, "train", ["chanel"])
    assert error.value.message == (
        "dataset version 1 has no column 'chanel'; its extra columns are: channel, language"
    )


def test_a_dataset_without_extras_says_so(store: Store, settings: Settings) -> None:
    table = pa.table({"text": [f"row {i}" for i in range(20)], "label": ["a"] * 20})
    result = ingest(store, settings, table)
    with store.session() as session, pytest.raises(DataError, match="no extra columns"):
        load_split_columns(session, result.dataset_version_id, "train", ["channel"])


def test_a_fixed_test_file_keeps_the_extras_of_both_files(tmp_path: Path) -> None:
    development = read_labelled_file(
        write_rows(tmp_path / "dev.csv", "text,label,channel", ["one,a,web", "two,b,phone"])
    )
    parquet = tmp_path / "test.parquet"
    pq.write_table(pa.table({"text": ["three"], "label": ["a"], "language": ["de"]}), parquet)
    combined = with_fixed_test_split(
        development, read_labelled_file(parquet), {"train": 0.9, "validation": 0.1, "test": 0.0}
    )
    data = combined.to_pydict()
    assert combined.column_names == ["text", "label", "split", "extra:channel", "extra:language"]
    assert data["extra:channel"] == ["web", "phone", None]
    assert data["extra:language"] == [None, None, "de"]
    assert data["split"][-1] == "test"
