"""Every supported format reads into the same (text, label) table; bad files name the problem."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from textloop.data.readers import read_labelled_bytes, read_labelled_file
from textloop.errors import DataError

ROWS = [("I lost my card", "lost_card"), ('He said "hi", then left', "greeting")]


def write_csv(path: Path, header: str = "text,label") -> Path:
    lines = [header] + [f'"{t.replace(chr(34), chr(34) * 2)}",{label}' for t, label in ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_csv_jsonl_and_parquet_give_the_same_table(tmp_path: Path) -> None:
    csv_table = read_labelled_file(write_csv(tmp_path / "d.csv"))
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("\n".join(json.dumps({"text": t, "label": lab}) for t, lab in ROWS))
    parquet = tmp_path / "d.parquet"
    pq.write_table(
        pa.table({"text": [t for t, _ in ROWS], "label": [lab for _, lab in ROWS]}), parquet
    )
    expected = {"text": [t for t, _ in ROWS], "label": [lab for _, lab in ROWS]}
    for table in (csv_table, read_labelled_file(jsonl), read_labelled_file(parquet)):
        assert table.to_pydict() == expected


def test_column_names_are_configurable(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", header="utterance,intent")
    table = read_labelled_file(path, text_column="utterance", label_column="intent")
    assert table.column_names == ["text", "label"]
    assert table.num_rows == 2


def test_missing_column_error_names_it_and_the_columns_found(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", header="text,category")
    with pytest.raises(DataError) as error:
        read_labelled_file(path)
    assert "'label' not found" in error.value.message
    assert "columns found: text, category" in error.value.message


def test_numeric_labels_are_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("text,label\nhello,1\nbye,2\n")
    assert read_labelled_file(path).column("label").to_pylist() == ["1", "2"]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("d.csv", b"text,label\nfine,a\n\xff\xfe broken,a\n"),
        ("d.jsonl", b'{"text": "fine", "label": "a"}\n{"text": "ok", "label": "b"}\n\xff\xfe\n'),
    ],
)
def test_invalid_utf8_is_rejected_naming_the_line(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    message = (
        f"{path}: line 3: invalid UTF-8 (byte 0xff at column 1); save the file as UTF-8, "
        "or name its encoding, e.g. --encoding cp1252"
    )
    with pytest.raises(DataError) as refused:
        read_labelled_file(path)
    assert refused.value.message == message
    with pytest.raises(DataError, match="upload: line 3: invalid UTF-8"):
        read_labelled_bytes(data, name.split(".")[1], "upload")


def test_unknown_extension_and_missing_file_are_errors(tmp_path: Path) -> None:
    (tmp_path / "d.docx").write_text("x")
    with pytest.raises(DataError, match="unknown file type"):
        read_labelled_file(tmp_path / "d.docx")
    with pytest.raises(DataError, match="no such file"):
        read_labelled_file(tmp_path / "absent.csv")


def test_split_column_values_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("text,label,split\na,x,train\nb,y,holdout\n")
    with pytest.raises(DataError, match="holdout"):
        read_labelled_file(path, split_column="split")


def test_uploads_read_from_memory() -> None:
    table = read_labelled_bytes(b"text,label\nhi,a\n", "csv", "upload")
    assert table.to_pydict() == {"text": ["hi"], "label": ["a"]}
