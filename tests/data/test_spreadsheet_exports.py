"""What spreadsheets export reads as the user meant it: the delimiter is sniffed (and said), an
encoding can be named, a bad row names its file and line or is skipped on request, and an
``.xlsx`` workbook reads like its CSV export."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from textloop.data.readers import (
    DEFAULT,
    ReadOptions,
    read_labelled_bytes,
    read_labelled_file,
    read_text_file,
)
from textloop.errors import DataError

ROWS = "text;label;amount\nmy card is lost;card;1,50\nwhere is my money;transfer;007\n"


def notes_of(path: Path, options: ReadOptions = DEFAULT) -> tuple[list[str], dict]:
    notes: list[str] = []
    table = read_labelled_file(path, options=options, notify=notes.append)
    return notes, table.to_pydict()


def test_a_semicolon_separated_csv_is_sniffed_and_the_choice_is_said(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(ROWS, encoding="utf-8")
    notes, table = notes_of(path)
    assert notes == [f"read {path} as ';'-separated"]
    assert table == {
        "text": ["my card is lost", "where is my money"],
        "label": ["card", "transfer"],
        "extra:amount": ["1,50", "007"],
    }


def test_a_tab_separated_csv_is_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(ROWS.replace(";", "\t"), encoding="utf-8")
    notes, table = notes_of(path)
    assert notes == [f"read {path} as '\\t'-separated"]
    assert table["extra:amount"] == ["1,50", "007"]


def test_a_named_delimiter_is_used_as_given(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("text|label\na, b|x\nc|y\n", encoding="utf-8")
    notes, table = notes_of(path, ReadOptions(delimiter="|"))
    assert notes == [] and table["text"] == ["a, b", "c"]


def test_a_cp1252_file_reads_when_its_encoding_is_named(tmp_path: Path) -> None:
    path = tmp_path / "legacy.csv"
    path.write_bytes("text,label\ncaf\u00e9 \u20ac5,food\n".encode("cp1252"))
    with pytest.raises(DataError, match=r"line 2: invalid UTF-8.*--encoding cp1252"):
        read_labelled_file(path)
    table = read_labelled_file(path, options=ReadOptions(encoding="cp1252"))
    assert table.column("text").to_pylist() == ["caf\u00e9 \u20ac5"]


def test_a_byte_the_named_encoding_lacks_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "legacy.csv"
    path.write_bytes(b"text,label\nfine,a\nbad \x81 byte,b\n")
    with pytest.raises(DataError, match=r"line 3: byte 0x81 is not cp1252 text"):
        read_labelled_file(path, options=ReadOptions(encoding="cp1252"))
    with pytest.raises(DataError, match="unknown encoding 'klingon'"):
        read_labelled_file(path, options=ReadOptions(encoding="klingon"))


def test_a_row_with_too_many_fields_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("text,label\nfine,a\nok,b\none,too,many\nlast,a\n", encoding="utf-8")
    with pytest.raises(DataError) as refused:
        read_labelled_file(path, options=ReadOptions(delimiter=","))
    assert refused.value.message.startswith(f"{path}: line 4 has 3 fields, the header has 2")
    assert "--skip-bad-rows" in refused.value.message


def test_skip_bad_rows_skips_and_reports_them(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("text,label\nfine,a\none,too,many\nlast,a\nshort\n", encoding="utf-8")
    notes, table = notes_of(path, ReadOptions(delimiter=",", skip_bad_rows=True))
    assert table == {"text": ["fine", "last"], "label": ["a", "a"]}
    assert notes == [f"skipped 2 rows of {path} without the header's 2 fields (lines 3, 5)"]


def test_an_upload_takes_the_same_options(tmp_path: Path) -> None:
    data = "text;label\nhello;a\n".encode("cp1252")
    table = read_labelled_bytes(data, "csv", "upload", options=ReadOptions(encoding="cp1252"))
    assert table.to_pydict() == {"text": ["hello"], "label": ["a"]}


def test_an_xlsx_workbook_reads_like_its_csv_export(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["text", "label", "id", "ratio", "when", "ok", "empty"])
    sheet.append(["card lost", "007", 570306123456789, 0.1, dt.datetime(2026, 1, 2), True, None])
    sheet.append(["00123", "7", 12.0, 1.5, dt.datetime(2026, 1, 2, 3, 4), False, None])
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    assert read_labelled_file(path).to_pydict() == {
        "text": ["card lost", "00123"],
        "label": ["007", "7"],
        "extra:id": ["570306123456789", "12"],
        "extra:ratio": ["0.1", "1.5"],
        "extra:when": ["2026-01-02", "2026-01-02T03:04:00"],
        "extra:ok": ["TRUE", "FALSE"],
        "extra:empty": ["", ""],
    }


def test_a_file_that_is_not_a_workbook_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    path.write_text("text,label\n")
    with pytest.raises(DataError, match=r"book.xlsx: cannot read as an .xlsx workbook"):
        read_labelled_file(path)


def test_an_over_long_text_names_the_file_and_the_line_it_starts_on(tmp_path: Path) -> None:
    long = "word " * 2_500  # 12,500 characters
    path = tmp_path / "d.csv"
    path.write_text(f'text,label\n"two\nlines",a\nfine,b\n"{long}",a\nlast,b\n', encoding="utf-8")
    with pytest.raises(DataError) as refused:
        read_labelled_file(path)
    assert refused.value.message == (
        f"{path}: line 5: text is 12,499 characters, the limit is 10,000; shorten it, or skip "
        "such rows (--skip-bad-rows; skip_bad_rows=true on an upload)"
    )
    notes, table = notes_of(path, ReadOptions(skip_bad_rows=True))
    assert table["text"] == ["two\nlines", "fine", "last"]
    assert notes[-1].startswith(f"skipped 1 rows of {path} that cannot be stored")
    assert notes[-1].endswith("(line 5)")


def test_over_long_rows_of_jsonl_and_parquet_are_placed_too(tmp_path: Path) -> None:
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"text": "ok", "label": "a"}, {"text": "x" * 10_001, "label": "a"}]
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("\n\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"d.jsonl: line 3: text is 10,001 characters"):
        read_labelled_file(jsonl)
    parquet = tmp_path / "d.parquet"
    pq.write_table(pa.table({"text": ["ok", "fine"], "label": ["a", "b" * 201]}), parquet)
    with pytest.raises(DataError, match=r"d.parquet: row 2: label is 201 characters"):
        read_labelled_file(parquet)


def test_a_one_column_file_stays_one_column_whatever_its_texts_hold(tmp_path: Path) -> None:
    path = tmp_path / "pool.csv"
    path.write_text("text\n" + "".join(f"price; {i} euros | or less\n" for i in range(40)))
    texts = read_text_file(path, options=DEFAULT)
    assert texts[:2] == ["price; 0 euros | or less", "price; 1 euros | or less"]
    assert len(texts) == 40


def test_an_xlsx_bad_row_is_named_by_its_sheet_row_after_blank_rows(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append([])
    sheet.append(["text", "label"])
    sheet.append(["fine", "a"])
    sheet.append([])
    sheet.append(["x" * 10_001, "a"])
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    with pytest.raises(DataError, match=r"book.xlsx: sheet row 5: text is 10,001 characters"):
        read_labelled_file(path)
