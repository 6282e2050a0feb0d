"""Files that are small on disk and huge decoded (Parquet, .xlsx) are refused while they are read,
naming the file and the limit, before they are decoded; ordinary files still read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from textloop.data.parquet import decoded_size
from textloop.data.readers import MAX_DECODED_BYTES, ReadOptions, read_labelled_file
from textloop.errors import DataError, DataTooLarge

ROWS = 100_000
LONG = "x" * 10_000


def parquet_bomb(path: Path) -> Path:
    """The probe's file: one 10,000-character text, dictionary-encoded, on 100,000 rows (1 GB)."""
    texts = pa.DictionaryArray.from_arrays(pa.array([0] * ROWS, pa.int32()), pa.array([LONG]))
    labels = pa.DictionaryArray.from_arrays(pa.array([0] * ROWS, pa.int32()), pa.array(["a"]))
    pq.write_table(pa.table({"text": texts, "label": labels}), path, compression="zstd")
    return path


def test_a_dictionary_column_counts_at_its_decoded_size() -> None:
    column = pa.DictionaryArray.from_arrays(pa.array([0, 0, 1, 0], pa.int32()), ["abc", "de"])
    assert decoded_size(column) == 3 + 3 + 2 + 3 + 8 * 4  # values, then an offset each
    assert column.nbytes < 40  # what it takes encoded


def test_the_probes_parquet_bomb_is_refused_naming_the_file_and_the_limit(
    tmp_path: Path,
) -> None:
    bomb = parquet_bomb(tmp_path / "bomb.parquet")
    assert bomb.stat().st_size < 4096
    with pytest.raises(DataTooLarge) as refused:
        read_labelled_file(bomb)
    assert str(bomb) in refused.value.message
    assert f"{MAX_DECODED_BYTES:,} bytes, the limit" in refused.value.message
    assert refused.value.status_code == 413 and isinstance(refused.value, DataError)


def test_the_parquet_bomb_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    """Arrow's peak allocation in a fresh process stays far below the 1 GB it decodes to."""
    bomb = parquet_bomb(tmp_path / "bomb.parquet")
    script = (
        "import json, sys, pyarrow as pa\n"
        "from textloop.data.readers import read_labelled_file\n"
        "from textloop.errors import DataTooLarge\n"
        "try:\n"
        "    read_labelled_file(__import__('pathlib').Path(sys.argv[1]))\n"
        "except DataTooLarge as refused:\n"
        "    print(json.dumps({'peak': pa.default_memory_pool().max_memory(),\n"
        "                      'message': refused.message}))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(bomb)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(run.stdout)
    assert "the limit" in result["message"]
    assert result["peak"] < 32 * 1024 * 1024, result


def test_a_parquet_file_over_max_rows_is_refused_by_its_metadata(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"text": [f"t{i}" for i in range(11)], "label": ["a"] * 11}), path)
    with pytest.raises(DataTooLarge, match="has 11 rows; the limit is 10 rows"):
        read_labelled_file(path, options=ReadOptions(max_rows=10))
    assert read_labelled_file(path, options=ReadOptions(max_rows=11)).num_rows == 11


def test_dictionary_encoded_parquet_within_the_limits_reads_as_before(tmp_path: Path) -> None:
    path = tmp_path / "categories.parquet"
    labels = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0], pa.int32()), ["sport", "news"])
    texts = pa.array(["goal", "vote", "match"])
    pq.write_table(pa.table({"text": texts, "label": labels, "n": [1, 2, 3]}), path)
    table = read_labelled_file(path)
    assert table.column("label").to_pylist() == ["sport", "news", "sport"]
    assert table.column("extra:n").to_pylist() == ["1", "2", "3"]
    assert table.schema.field("text").type == pa.string()


def workbook(path: Path, rows: list[list[str]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_a_workbook_that_declares_a_huge_inflated_size_is_refused_before_opening(
    tmp_path: Path,
) -> None:
    path = workbook(tmp_path / "big.xlsx", [["text", "label"], ["y" * 30_000, "a"]])
    with pytest.raises(DataTooLarge, match=r"big\.xlsx: the workbook inflates to .* the limit"):
        read_labelled_file(path, options=ReadOptions(max_decoded_bytes=5_000))


def test_a_workbook_whose_cells_pass_the_limit_is_refused_while_it_is_read(
    tmp_path: Path,
) -> None:
    """1,000 rows of 1,000 characters: within what its XML may declare, over in characters."""
    rows = [["text", "label"]] + [["z" * 1_000, "a"]] * 1_000
    path = workbook(tmp_path / "cells.xlsx", rows)
    with pytest.raises(DataTooLarge, match="hold more than 300,000 characters, the limit"):
        read_labelled_file(path, options=ReadOptions(max_decoded_bytes=300_000))
    assert read_labelled_file(path).num_rows == 1_000


def test_a_workbook_over_max_rows_is_refused(tmp_path: Path) -> None:
    path = workbook(tmp_path / "rows.xlsx", [["text", "label"]] + [["t", "a"]] * 6)
    with pytest.raises(DataTooLarge, match=r"rows\.xlsx: more than 5 rows, the limit"):
        read_labelled_file(path, options=ReadOptions(max_rows=5))
    assert read_labelled_file(path, options=ReadOptions(max_rows=6)).num_rows == 6
