"""Values that look like numbers arrive exactly as written: ingest, read back, export, train.

Labels ``007``, ``7``, ``010``, ``1e3``, ``1.0`` and ``1`` are six labels, not three; the text
``00123`` stays ``00123``; an 18-digit id and ``5.70306E+17`` keep every character. The same
rows are written as CSV, TSV, JSONL and Parquet, and each must come back unchanged.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from textloop.config import Settings
from textloop.data.readers import read_labelled_bytes, read_labelled_file
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.review.export import FORMULA_STARTS, export_bytes
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import Example, ModelVersion

pytestmark = pytest.mark.storage

LABELS = ["007", "7", "010", "1e3", "1.0", "1"]
WORDS = {
    "007": ["spy", "agent", "mission", "secret"],
    "7": ["seven", "week", "days", "lucky"],
    "010": ["binary", "bits", "octal", "zero"],
    "1e3": ["thousand", "kilo", "grand", "millennium"],
    "1.0": ["float", "decimal", "point", "version"],
    "1": ["one", "single", "alone", "first"],
}
EXTRAS = ["id", "score", "code", "note"]


def numeric_rows() -> list[dict[str, str]]:
    """30 rows per label; every extra value looks like a number or is empty."""
    rng = random.Random(3)
    rows = []
    for label in LABELS:
        for i in range(30):
            a, b = rng.sample(WORDS[label], 2)
            rows.append(
                {
                    "text": f"the {a} and the {b} number {i}",
                    "label": label,
                    "id": str(570306123456789012 + len(rows)),
                    "score": ["5.70306E+17", "0.10", "1.0", "1", "1e3", "-0"][i % 6],
                    "code": ["00123", "007", "0", "0x1F"][i % 4],
                    "note": ["", "NaN", "null", "TRUE"][i % 4],
                }
            )
    rows += [
        {"text": "00123", "label": "007", "id": "000000000000000001", "score": "",
         "code": "", "note": ""},
        {"text": "5.70306E+17", "label": "1e3", "id": "999999999999999999", "score": "1E3",
         "code": "1.50", "note": "1,000"},
    ]  # fmt: skip
    return rows


def write(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = list(rows[0])
    if path.suffix in (".csv", ".tsv"):
        with path.open("w", newline="", encoding="utf-8") as handle:
            delimiter = "\t" if path.suffix == ".tsv" else ","
            writer = csv.DictWriter(handle, columns, delimiter=delimiter)
            writer.writeheader()
            writer.writerows(rows)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    else:
        pq.write_table(pa.table({c: [row[c] for row in rows] for c in columns}), path)
    return path


def neutralised(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def as_set(rows: list[dict[str, str]]) -> set[tuple[str, ...]]:
    return {tuple(row[c] for c in ("text", "label", *EXTRAS)) for row in rows}


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_numeric_looking_values_survive_ingest_export_and_training(
    store: Store, settings: Settings, tmp_path: Path, suffix: str
) -> None:
    rows = numeric_rows()
    table = read_labelled_file(write(tmp_path / f"numbers{suffix}", rows))
    result = ingest_batch(store, settings, "numbers", table, "test")
    assert result.rows == len(rows) and result.duplicates == 0
    assert sorted(result.labels) == sorted(LABELS)

    with store.session() as session:
        stored = [
            {"text": text, "label": label, **(extras or {})}
            for text, label, extras in session.execute(
                select(Example.text, Example.label, Example.extras).where(
                    Example.dataset_version_id == result.dataset_version_id
                )
            )
        ]
    assert as_set(stored) == as_set(rows)

    if suffix != ".tsv":  # the export formats: CSV, JSONL, Parquet
        file_format = suffix.lstrip(".")
        exported = pa.table({c: [row[c] for row in stored] for c in ("text", "label", *EXTRAS)})
        back = read_labelled_bytes(export_bytes(exported, file_format), file_format, "export")
        reread = [
            {c: back.column(c if c in ("text", "label") else f"extra:{c}")[i].as_py() for c in
             ("text", "label", *EXTRAS)}
            for i in range(back.num_rows)
        ]  # fmt: skip
        # a CSV export writes a cell a spreadsheet would run as a formula (-0) with a ' first
        expected = [
            {c: neutralised(v) if file_format == "csv" else v for c, v in row.items()}
            for row in rows
        ]
        assert as_set(reread) == as_set(expected)

    report = train_classifier(store, settings, "numbers", family="ngram")
    with store.session() as session:
        model = session.scalar(
            select(ModelVersion).where(
                ModelVersion.classifier_id == get_classifier(session, "numbers").id,
                ModelVersion.version == report.version,
            )
        )
        assert model is not None
        assert sorted(model.labels) == sorted(LABELS)


def test_json_numbers_keep_the_text_of_their_token(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"text": "a", "label": 1.0, "id": 570306123456789012, "score": 5.70306E+17}\n'
        '{"text": "b", "label": 1, "id": 7, "score": 1e3, "flag": true}\n',
        encoding="utf-8",
    )
    table = read_labelled_file(path)
    assert table.column("label").to_pylist() == ["1.0", "1"]
    assert table.column("extra:id").to_pylist() == ["570306123456789012", "7"]
    assert table.column("extra:score").to_pylist() == ["5.70306E+17", "1e3"]
    assert table.column("extra:flag").to_pylist() == [None, "true"]


def test_typed_parquet_columns_become_text_without_loss(tmp_path: Path) -> None:
    import datetime as dt
    from decimal import Decimal

    path = tmp_path / "d.parquet"
    pq.write_table(
        pa.table(
            {
                "text": ["a", "b"],
                "label": pa.array([7, 10], pa.int64()),
                "id": pa.array([570306123456789012, -1], pa.int64()),
                "ratio": pa.array([0.1, 5.70306e17], pa.float64()),
                "narrow": pa.array([0.1, None], pa.float32()),
                "stamp": pa.array([1_700_000_000_123_456_789, None], pa.timestamp("ns")),
                "price": pa.array([Decimal("1.50"), Decimal("0.00")], pa.decimal128(5, 2)),
                "ok": [True, False],
                "day": [dt.date(2026, 1, 2), None],
                "tags": [["x"], []],
            }
        ),
        path,
    )
    table = read_labelled_file(path)
    assert table.column("label").to_pylist() == ["7", "10"]
    assert table.column("extra:id").to_pylist() == ["570306123456789012", "-1"]
    assert table.column("extra:ratio").to_pylist() == ["0.1", "5.70306e+17"]
    assert table.column("extra:narrow").to_pylist() == ["0.1", None]
    assert table.column("extra:stamp").to_pylist() == ["2023-11-14T22:13:20.123456789", None]
    assert table.column("extra:price").to_pylist() == ["1.50", "0.00"]
    assert table.column("extra:ok").to_pylist() == ["true", "false"]
    assert table.column("extra:day").to_pylist() == ["2026-01-02", None]
    assert "extra:tags" not in table.column_names  # a list has no faithful text: dropped


def test_a_chosen_column_without_faithful_text_is_refused_by_name(tmp_path: Path) -> None:
    from textloop.errors import DataError

    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"text": [["a"], ["b"]], "label": ["x", "y"]}), path)
    with pytest.raises(DataError, match="column 'text'"):
        read_labelled_file(path)
    path = tmp_path / "b.parquet"
    pq.write_table(pa.table({"text": pa.array([b"\xff", b"ok"]), "label": ["x", "y"]}), path)
    with pytest.raises(DataError, match="column 'text' is not valid UTF-8"):
        read_labelled_file(path)
