"""Reads a Parquet file into string columns, refusing one that would decode too large.

A Parquet file can be tiny and decode huge: a dictionary-encoded column holds one long value
once and an index per row, so 1,671 bytes can stand for 100,000 copies of a 10,000-character
text (a gigabyte). The file is therefore never read whole. Its metadata is checked first (the
row count, and the column chunks' uncompressed sizes, which bound what the pages inflate to);
then it is read a batch of rows at a time with every string and binary column kept in its
dictionary form, and each batch's decoded size is counted before anything is decoded: a
dictionary column's size is the sum of its values' lengths over its indices, not the size of its
dictionary. The first batch over ``max_rows`` or ``max_bytes`` refuses the file
(``DataTooLarge``), naming the file and the limit, so memory stays near the limit however well
the file compresses.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from textloop.data.values import NotText, column_strings
from textloop.errors import DataError, DataTooLarge

BATCH_ROWS = 4096


def read_parquet(
    data: Path | bytes, source: str, max_rows: int, max_bytes: int
) -> tuple[pa.Table, dict[str, str]]:
    """String columns (by ``column_strings``), and the columns that have no text (why)."""
    unreadable: dict[str, str] = {}
    try:
        file = _open(data, read_dictionary=None)
        fields = list(file.schema_arrow)
        texts = [field.name for field in fields if _is_text(field.type)]
        flat = [field.name for field in fields if _is_flat(field.type)]
        unreadable = {
            field.name: f"of type {field.type} is not text"
            for field in fields
            if not _is_flat(field.type)
        }  # never read: a nested or fixed-width column can hide any number of values per row
        _check_metadata(file.metadata, source, max_rows, max_bytes)
        file = _open(data, read_dictionary=texts)
        batches = _bounded_batches(file, flat, source, max_rows, max_bytes)
        schema = pa.schema([file.schema_arrow.field(name) for name in flat])
        table = pa.Table.from_batches(batches, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        first = first.replace(str(data), source) if isinstance(data, Path) else first
        raise DataError(f"{source}: cannot read as parquet: {first}") from exc
    columns: dict[str, pa.ChunkedArray] = {}
    for index, name in enumerate(table.column_names):
        if name in columns or name in unreadable:
            continue
        try:
            columns[name] = column_strings(table.column(index))
        except NotText as reason:
            unreadable[name] = str(reason)
    return pa.table(columns), unreadable


def _open(data: Path | bytes, read_dictionary: list[str] | None) -> pq.ParquetFile:
    source = pa.BufferReader(data) if isinstance(data, bytes) else data
    return pq.ParquetFile(source, read_dictionary=read_dictionary)


def _check_metadata(metadata: pq.FileMetaData, source: str, max_rows: int, max_bytes: int) -> None:
    """Refuse by what the file says of itself, before a page is read."""
    if metadata.num_rows > max_rows:
        raise DataTooLarge(
            f"{source}: the file has {metadata.num_rows:,} rows; the limit is {max_rows:,} rows"
        )
    inflated = sum(
        metadata.row_group(group).column(column).total_uncompressed_size
        for group in range(metadata.num_row_groups)
        for column in range(metadata.num_columns)
    )
    if inflated > max_bytes:
        raise DataTooLarge(
            f"{source}: the file's pages inflate to {inflated:,} bytes; "
            f"the limit is {max_bytes:,} bytes of decoded values"
        )


def _bounded_batches(
    file: pq.ParquetFile, columns: list[str], source: str, max_rows: int, max_bytes: int
) -> list[pa.RecordBatch]:
    """The batches of ``columns``, refused at the first that takes rows or bytes over the limits."""
    batches: list[pa.RecordBatch] = []
    rows = size = 0
    for batch in file.iter_batches(batch_size=BATCH_ROWS, columns=columns, use_threads=False):
        rows += batch.num_rows
        size += sum(decoded_size(column) for column in batch.columns)
        if rows > max_rows:
            raise DataTooLarge(f"{source}: more than {max_rows:,} rows, the limit")
        if size > max_bytes:
            raise DataTooLarge(
                f"{source}: the values of the first {rows:,} rows decode to more than "
                f"{max_bytes:,} bytes, the limit; split the file or shorten its texts"
            )
        batches.append(batch)
    return batches


def decoded_size(column: pa.Array) -> int:
    """Bytes ``column`` takes once decoded: a dictionary's values counted at every index."""
    if not isinstance(column, pa.DictionaryArray):
        return int(column.nbytes)
    dictionary = column.dictionary
    if _is_text(dictionary.type):
        lengths = pc.binary_length(dictionary)
        values = pc.sum(pc.take(lengths, column.indices)).as_py() or 0
        return int(values) + 8 * len(column)  # and an offset per value (int64 when large)
    try:
        return dictionary.type.bit_width // 8 * len(column)  # numbers, dates: fixed width
    except ValueError:  # nested values: no cheaper bound than the largest at every row
        return int(dictionary.nbytes) * len(column)


def _is_flat(kind: pa.DataType) -> bool:
    """One value of bounded size per row: text, numbers, booleans, dates, decimals."""
    if pa.types.is_dictionary(kind):
        return _is_flat(kind.value_type)
    return not (pa.types.is_nested(kind) or pa.types.is_fixed_size_binary(kind))


def _is_text(kind: pa.DataType) -> bool:
    return (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
    )
