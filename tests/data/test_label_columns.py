"""A multi-label file's label column becomes encoded label sets: cells joined by a separator,
Parquet and JSON lists, and every bad set refused naming the row as the reader names rows."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from textloop.data.label_sets import decode
from textloop.data.readers import ReadOptions, read_labelled_bytes, read_labelled_file
from textloop.errors import DataError, DataTooLarge

MULTI = ReadOptions(multi_label=True)


def sets(table: pa.Table) -> list[tuple[str, ...]]:
    return [decode(label) for label in table.column("label").to_pylist()]


def jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def test_a_cell_is_a_set_of_names_joined_by_bars_and_an_empty_cell_is_the_empty_set(
    tmp_path: Path,
) -> None:
    data = tmp_path / "tickets.csv"
    data.write_text("text,label\nrefund please,refund|billing\nhello,\ncard lost, card | card \n")
    table = read_labelled_file(data, options=MULTI)
    assert table.column("text").to_pylist() == ["refund please", "hello", "card lost"]
    assert sets(table) == [("billing", "refund"), (), ("card",)]


def test_another_separator_splits_the_cells_and_leaves_bars_inside_names(tmp_path: Path) -> None:
    data = tmp_path / "tickets.csv"
    data.write_text("text,label\nrefund please,refund;a|b\n")
    table = read_labelled_file(data, options=ReadOptions(multi_label=True, label_separator=";"))
    assert sets(table) == [("a|b", "refund")]


def test_a_single_label_read_keeps_a_bar_as_part_of_the_label(tmp_path: Path) -> None:
    data = tmp_path / "tickets.csv"
    data.write_text("text,label\nrefund please,refund|billing\n")
    assert read_labelled_file(data).column("label").to_pylist() == ["refund|billing"]


def test_a_parquet_list_column_is_read_as_label_sets(tmp_path: Path) -> None:
    data = tmp_path / "tickets.parquet"
    labels = [["refund", "billing"], [], None, ["card"]]
    pq.write_table(
        pa.table({"text": ["a", "b", "c", "d"], "tags": labels, "ids": [[1], [2, 3], [], None]}),
        data,
        row_group_size=2,  # a dictionary per row group, which a batch may not join
    )
    table = read_labelled_file(data, label_column="tags", options=MULTI)
    assert sets(table) == [("billing", "refund"), (), (), ("card",)]
    assert "extra:ids" not in table.column_names  # a list is no text for an extra column
    numbers = read_labelled_file(data, label_column="ids", options=MULTI)
    assert sets(numbers) == [("1",), ("2", "3"), (), ()]


def test_a_json_array_column_is_read_as_label_sets(tmp_path: Path) -> None:
    data = jsonl(
        tmp_path / "tickets.jsonl",
        [
            {"text": "a", "label": ["refund", "billing"]},
            {"text": "b", "label": []},
            {"text": "c", "label": None},
            {"text": "d"},
        ],
    )
    assert sets(read_labelled_file(data, options=MULTI)) == [("billing", "refund"), (), (), ()]


def test_a_list_column_without_multi_label_is_refused_saying_how_to_read_it(
    tmp_path: Path,
) -> None:
    data = jsonl(tmp_path / "tickets.jsonl", [{"text": "a", "label": ["refund"]}])
    with pytest.raises(DataError) as refused:
        read_labelled_file(data)
    assert str(refused.value) == (
        f"{data}: column 'label' holds lists of labels; pass --multi-label to read them as "
        "label sets"
    )
    assert refused.value.for_api().endswith("send multi_label=true to read them as label sets")
    parquet = tmp_path / "tickets.parquet"
    pq.write_table(pa.table({"text": ["a"], "label": [["refund"]]}), parquet)
    with pytest.raises(DataError, match="holds lists of labels; pass --multi-label"):
        read_labelled_bytes(parquet.read_bytes(), "parquet", "upload")


def test_an_empty_name_between_separators_is_refused_naming_the_line(tmp_path: Path) -> None:
    data = tmp_path / "tickets.csv"
    data.write_text('text,label\nfine,a|b\n"two\nlines",a||b\n')
    with pytest.raises(DataError) as refused:
        read_labelled_file(data, options=MULTI)
    assert str(refused.value) == (
        f"{data}: line 3: the label cell 'a||b' has an empty label name between '|' separators"
    )
    trailing = tmp_path / "trailing.csv"
    trailing.write_text("text,label\nfine,a|\n")
    with pytest.raises(DataError, match="line 2: the label cell 'a\\|' has an empty label name"):
        read_labelled_file(trailing, options=MULTI)


def test_skipping_bad_rows_does_not_skip_a_bad_label_set(tmp_path: Path) -> None:
    data = tmp_path / "tickets.csv"
    data.write_text("text,label\nfine,a||b\n")
    with pytest.raises(DataError, match="line 2: the label cell"):
        read_labelled_file(data, options=ReadOptions(multi_label=True, skip_bad_rows=True))


def test_an_empty_list_item_is_refused_naming_the_row(tmp_path: Path) -> None:
    data = tmp_path / "tickets.parquet"
    pq.write_table(pa.table({"text": ["a", "b"], "label": [["x"], ["y", None]]}), data)
    with pytest.raises(DataError) as refused:
        read_labelled_file(data, options=MULTI)
    assert str(refused.value) == f"{data}: row 2: a label name is empty"


def test_a_listed_name_that_holds_the_separator_is_refused_naming_the_line(
    tmp_path: Path,
) -> None:
    data = jsonl(
        tmp_path / "tickets.jsonl",
        [{"text": "a", "label": ["x"]}, {"text": "b", "label": ["billing|refund"]}],
    )
    with pytest.raises(DataError) as refused:
        read_labelled_file(data, options=MULTI)
    assert str(refused.value) == (
        f"{data}: line 2: the label name 'billing|refund' contains the label separator '|'; "
        "choose another with --label-separator"
    )
    assert refused.value.for_api().endswith("choose another with label_separator")
    other = ReadOptions(multi_label=True, label_separator=";")
    assert sets(read_labelled_file(data, options=other)) == [("x",), ("billing|refund",)]


def test_a_column_that_mixes_arrays_and_single_values_is_refused_naming_a_line_of_each(
    tmp_path: Path,
) -> None:
    data = jsonl(
        tmp_path / "tickets.jsonl",
        [{"text": "a", "label": None}, {"text": "b", "label": ["x"]}, {"text": "c", "label": "y"}],
    )
    with pytest.raises(DataError) as refused:
        read_labelled_file(data, options=MULTI)
    assert str(refused.value) == (
        f"{data}: column 'label' mixes arrays (line 2) and single values (line 3); write every "
        "row's labels as an array, or none"
    )


def test_a_name_over_the_label_limit_is_a_bad_row_but_a_long_set_is_not(tmp_path: Path) -> None:
    many = "|".join(f"label number {i}" for i in range(40))  # 600 characters, short names
    data = tmp_path / "tickets.csv"
    data.write_text(f"text,label\nmany,{many}\nlong,{'n' * 201}\n")
    with pytest.raises(DataError, match="line 3: label is 201 characters, the limit is 200"):
        read_labelled_file(data, options=MULTI)
    kept = read_labelled_file(data, options=ReadOptions(multi_label=True, skip_bad_rows=True))
    assert [len(labels) for labels in sets(kept)] == [40]


def test_a_separator_that_cannot_split_a_cell_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "tickets.csv"
    data.write_text("text,label\na,b\n")
    for separator in ("", "\x1f", "x" * 11):
        with pytest.raises(DataError, match="the label separator must be 1 to 10 characters"):
            read_labelled_file(
                data, options=ReadOptions(multi_label=True, label_separator=separator)
            )


def test_a_list_column_that_would_decode_too_large_is_refused_before_it_is_read(
    tmp_path: Path,
) -> None:
    data = tmp_path / "bomb.parquet"
    pq.write_table(pa.table({"text": ["a"], "label": [["x"] * 200_000]}), data)
    assert data.stat().st_size < 10_000
    small = ReadOptions(multi_label=True, max_decoded_bytes=1_000_000)
    with pytest.raises(DataTooLarge, match="its list columns hold 200,000 items; the limit is"):
        read_labelled_file(data, options=small)
    long_names = tmp_path / "long.parquet"
    pq.write_table(pa.table({"text": ["a"], "label": [["x" * 5_000] * 300]}), long_names)
    with pytest.raises(DataTooLarge, match="decode to more than 1,000,000 bytes"):
        read_labelled_file(long_names, options=small)


def tokenised(path: Path, labels: list[object]) -> Path:
    """A tokenised dataset: 200 rows, each with 500 token ids beside its text and label."""
    rows = len(labels)
    ids = [list(range(row, row + 500)) for row in range(rows)]
    texts = [f"ticket {row}" for row in range(rows)]
    pq.write_table(pa.table({"text": texts, "label": labels, "input_ids": ids}), path)
    return path


def test_another_list_column_is_dropped_unread_and_counts_against_no_limit(
    tmp_path: Path,
) -> None:
    data = tokenised(tmp_path / "tokenised.parquet", ["refund", "card"] * 100)
    small = ReadOptions(max_decoded_bytes=200_000)  # 100,000 token ids would be 800,000 bytes
    table = read_labelled_file(data, options=small)
    assert table.column_names == ["text", "label"]
    assert table.num_rows == 200
    multi = ReadOptions(multi_label=True, max_decoded_bytes=200_000)
    sets_read = read_labelled_file(
        tokenised(tmp_path / "sets.parquet", [["refund"], []] * 100), options=multi
    )
    assert (sets_read.column_names, sets(sets_read)[:2]) == (["text", "label"], [("refund",), ()])


def test_a_json_array_that_is_not_the_label_column_is_dropped_unread(tmp_path: Path) -> None:
    lone_surrogate = '{"text": "a", "label": "x", "tokens": ["\\ud800"]}\n'
    data = tmp_path / "tokens.jsonl"
    data.write_text(lone_surrogate + '{"text": "b", "label": "y", "tokens": ["hi"]}\n')
    assert read_labelled_file(data).column_names == ["text", "label"]
    listed = tmp_path / "listed.jsonl"
    listed.write_text(lone_surrogate.replace('"x"', '["x"]'))
    assert sets(read_labelled_file(listed, options=MULTI)) == [("x",)]
