"""An Argilla export for text classification is a labelled file: 2.x records by their fields and
questions, 1.x records by their inputs and annotation; only a confirmed answer is a label."""

import json
from pathlib import Path
from typing import Any

import pytest

from tests.annotation_exports import argilla_record, argilla_v1_record
from textloop.config import Settings
from textloop.data.readers import ReadOptions, read_labelled_file
from textloop.errors import DataError
from textloop.pipeline.ingestion import ingest_batch
from textloop.store import Store


def write_json(path: Path, records: list[Any]) -> Path:
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


def write_lines(path: Path, records: list[Any]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    return path


def test_argilla_2_records_give_the_label_questions_settled_answer(tmp_path: Path) -> None:
    export = write_json(
        tmp_path / "records.json",
        [
            argilla_record("r1", "the striker scored", "sport", suggested="finance"),
            argilla_record(
                "r2", "rates went up", "finance", "finance", metadata={"source": "wire"}
            ),
            argilla_record("r3", "nobody answered yet", suggested="weather"),
        ],
    )
    assert read_labelled_file(export).to_pylist() == [
        {"text": "the striker scored", "label": "sport", "extra:source": None},
        {"text": "rates went up", "label": "finance", "extra:source": "wire"},
        {"text": "nobody answered yet", "label": None, "extra:source": None},
    ]  # a suggestion is a model's guess, never a label


def test_argilla_2_responses_that_disagree_are_refused_naming_the_record(tmp_path: Path) -> None:
    export = write_json(
        tmp_path / "records.json", [argilla_record("r9", "rain at the match", "sport", "weather")]
    )
    with pytest.raises(DataError, match="record r9: the annotators of 'label' disagree"):
        read_labelled_file(export)
    skipped = read_labelled_file(export, options=ReadOptions(skip_bad_rows=True))
    assert skipped.num_rows == 0


def test_argilla_2_draft_and_discarded_responses_are_no_answer(tmp_path: Path) -> None:
    record = argilla_record("r1", "rain again", "weather")
    record["responses"]["label"] += [
        {"value": "sport", "user_id": "u2", "status": "draft"},
        {"value": "finance", "user_id": "u3", "status": "discarded"},
    ]
    export = write_json(tmp_path / "records.json", [record])
    assert read_labelled_file(export).column("label").to_pylist() == ["weather"]


def test_a_multi_label_answer_is_a_label_only_when_it_holds_one(tmp_path: Path) -> None:
    export = write_json(
        tmp_path / "records.json",
        [argilla_record("r1", "one", ["sport"]), argilla_record("r2", "two", ["sport", "finance"])],
    )
    with pytest.raises(DataError, match="record r2: 'label' has 2 labels chosen"):
        read_labelled_file(export)
    kept = read_labelled_file(export, options=ReadOptions(skip_bad_rows=True))
    assert kept.to_pylist() == [{"text": "one", "label": "sport"}]


def test_argilla_1_records_give_a_validated_annotation_as_the_label(tmp_path: Path) -> None:
    export = write_lines(
        tmp_path / "dataset.jsonl",
        [
            argilla_v1_record("1", "the striker scored", "sport", category="news"),
            argilla_v1_record("2", "the bank lent more", "finance", status="Discarded"),
            argilla_v1_record("3", "snow tomorrow", None, status="Default"),
            argilla_v1_record("4", "rain today", ["weather"], multi_label=True),
        ],
    )
    table = read_labelled_file(export, label_column="annotation")
    assert table.to_pylist() == [
        {"text": "the striker scored", "label": "sport", "extra:category": "news"},
        {"text": "the bank lent more", "label": None, "extra:category": None},
        {"text": "snow tomorrow", "label": None, "extra:category": None},
        {"text": "rain today", "label": "weather", "extra:category": None},
    ]  # a discarded record's annotation was thrown away; the predictions are not labels


def test_argilla_1_inputs_of_several_fields_are_columns(tmp_path: Path) -> None:
    record = argilla_v1_record("1", "", "sport")
    record["text"] = None
    record["inputs"] = {"title": "Cup final", "body": "the striker scored twice"}
    export = write_json(tmp_path / "dataset.json", [record])
    table = read_labelled_file(export, text_column="body", label_column="annotation")
    assert table.to_pylist() == [
        {"text": "the striker scored twice", "label": "sport", "extra:title": "Cup final"}
    ]


def test_argilla_exports_are_ingested_with_their_labels(
    tmp_path: Path, store: Store, settings: Settings
) -> None:
    version_2 = write_json(
        tmp_path / "records.json",
        [
            argilla_record("a", "the striker scored", "sport"),
            argilla_record("b", "rates went up", "finance"),
            argilla_record("c", "nobody answered"),
        ],
    )
    result = ingest_batch(store, settings, "news", read_labelled_file(version_2), "records.json")
    assert (result.rows, result.dropped, sorted(result.labels)) == (2, 1, ["finance", "sport"])
    version_1 = write_lines(
        tmp_path / "old.jsonl",
        [
            argilla_v1_record("1", "the striker scored", "sport"),
            argilla_v1_record("2", "snow tomorrow", "weather"),
        ],
    )
    table = read_labelled_file(version_1, label_column="annotation")
    again = ingest_batch(store, settings, "news", table, "old.jsonl")
    assert (again.rows, sorted(again.labels)) == (2, ["finance", "sport", "weather"])
