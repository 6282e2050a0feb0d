"""Planning and reading chunks: every row lands in exactly one chunk, read the same whether a
chunk is read alone (a Ray actor, a resumed job) or in sequence, and unreadable rows are named."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from textloop.batch import sources
from textloop.batch.sources import MAX_ROW_BYTES, plan, read_chunk, read_chunks
from textloop.errors import DataError


def rows_of(path: Path, chunk_rows: int) -> list[list[dict[str, object]]]:
    planned = plan(path, chunk_rows)
    alone = [read_chunk(planned.source, chunk)[0].to_pylist() for chunk in planned.chunks]
    in_turn = [table.to_pylist() for _, table, _ in read_chunks(planned.source, planned.chunks)]
    assert alone == in_turn
    some = [c for c in planned.chunks if c.index % 2]  # a resumed job reads only some
    assert [t.to_pylist() for _, t, _ in read_chunks(planned.source, some)] == alone[1::2]
    return alone


def test_parquet_chunks_cross_row_groups_and_parts(tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    table = pa.table({"id": list(range(1000)), "text": [f"text {n}" for n in range(1000)]})
    pq.write_table(table.slice(0, 700), folder / "a.parquet", row_group_size=97)
    pq.write_table(table.slice(700), folder / "b.parquet", row_group_size=1000)
    chunks = rows_of(folder, 64)
    assert [len(c) for c in chunks] == [64] * 10 + [60] + [64] * 4 + [44]
    assert [row["id"] for chunk in chunks for row in chunk] == list(range(1000))


def test_csv_rows_with_newlines_blank_lines_and_wrong_widths(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    body = ['1,"two\nlines"', "", "2,plain", "3,too,many", "4,007"] * 3
    path.write_text("\ufeffid,text\n" + "\n".join(body) + "\n", encoding="utf-8")
    planned = plan(path, 5)
    assert planned.source.columns == ("id", "text") and planned.rows == 12
    rows = [row for chunk in rows_of(path, 5) for row in chunk]
    assert rows[0] == {"id": "1", "text": "two\nlines"} and rows[3] == {"id": "4", "text": "007"}
    errors = [e for c in planned.chunks for e in read_chunk(planned.source, c)[1]]
    assert errors[2] == "the row has 3 fields, the header 2" and rows[2] == {
        "id": None,
        "text": None,
    }
    assert errors.count(None) == 9


def test_jsonl_keeps_number_tokens_and_names_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 1.50, "text": "a\u2028b"}\n\n[1, 2]\n{"text": "c", "extra": true}\n')
    planned = plan(path, 2)
    assert planned.source.columns == ("id", "text", "extra") and planned.rows == 3
    (first, first_errors), (second, _) = (read_chunk(planned.source, c) for c in planned.chunks)
    assert first.to_pylist()[0] == {"id": "1.50", "text": "a\u2028b", "extra": None}
    assert first_errors == [None, "not a JSON object"]
    assert second.to_pylist() == [{"id": None, "text": "c", "extra": "true"}]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "the file is empty"),
        ("notes.txt", b"x", "cannot tell the format from '.txt'"),
        ("none.jsonl", b"[1]\n", "no line holds a JSON object"),
        ("bad.parquet", b"PAR1", "not a readable Parquet file"),
        ("cr.csv", b"text,n\nhel\rlo,x\n", "new-line character seen in unquoted field"),
    ],
)
def test_inputs_that_cannot_be_planned_are_refused(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=message):
        plan(tmp_path / name)


def test_a_jsonl_line_of_unicode_spaces_is_blank_to_the_plan_and_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('\ufeff{"text": "a"}\n\u00a0\n\x1c\n{"text": "b"}\n', encoding="utf-8")
    planned = plan(path, 10)
    assert planned.rows == 2
    assert [t.num_rows for _, t, _ in read_chunks(planned.source, planned.chunks)] == [2]


def test_an_endless_line_is_refused_by_the_plan_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    with path.open("wb") as handle:
        handle.write(b'{"text": "ok"}\n{"text": "')
        handle.write(b"x" * (MAX_ROW_BYTES + 10))
    with pytest.raises(DataError, match="line 2 is over 4,194,304"):
        plan(path)


def test_a_csv_row_of_many_short_quoted_lines_is_bounded_like_a_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "MAX_ROW_BYTES", 1000)
    path = tmp_path / "in.csv"
    path.write_text('text,label\nok,a\n"' + "short line\n" * 200 + '",b\n')
    with pytest.raises(DataError, match="the row that starts at line 3 is over 1,000 bytes"):
        plan(path)


def test_a_chunk_ends_at_its_byte_budget_and_rows_keep_their_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "CHUNK_BYTES", 100)
    path = tmp_path / "in.csv"
    path.write_text("text\n" + "".join(f"row {n:04d} " + "x" * 40 + "\n" for n in range(10)))
    planned = plan(path, chunk_rows=4)
    assert [chunk.rows for chunk in planned.chunks] == [2, 2, 2, 2, 2]
    assert [chunk.start for chunk in planned.chunks] == [0, 2, 4, 6, 8]
    texts = [row["text"] for chunk in rows_of(path, 4) for row in chunk]
    assert [text[:8] for text in texts] == [f"row {n:04d}" for n in range(10)]


def test_a_fifo_is_refused_without_being_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "in.csv")
    with pytest.raises(DataError, match="is a FIFO, not a regular file"):
        plan(tmp_path / "in.csv")
