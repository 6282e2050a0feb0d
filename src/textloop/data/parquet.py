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

A column of lists of single values is read only when the caller names it (``list_column``: the
label column of a multi-label read, whose lists are label sets, see ``label_columns``); every
other one is never read, like any nested column (structs, maps, lists of lists), so a tokenised
dataset's ``input_ids`` costs nothing and counts against no limit. The named column's items are
kept in dictionary form like a text column's values. Its bound comes first from the metadata: a
list can hold any number of items per row, so the items its column chunks say they hold
(``num_values``) are counted, each at least an offset's worth of decoded bytes, before a page is
read; then each batch counts them as a text column's values are counted. The named column comes
back as ``list<string>``; every other column read as strings.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from textloop.data.values import NotText, column_strings
from textloop.errors import DataError, DataTooLarge

BATCH_ROWS = 4096
OFFSET_BYTES = 8  # what each list item or text value decodes to besides its bytes


def read_parquet(
    data: Path | bytes, source: str, max_rows: int, max_bytes: int, list_column: str | None = None
) -> tuple[pa.Table, dict[str, str], frozenset[str]]:
    """String columns (by ``column_strings``), the columns that have no text (why), and the
    columns of lists of single values left unread: every one but ``list_column``."""
    unreadable: dict[str, str] = {}
    try:
        file = _open(data, read_dictionary=None)
        fields = list(file.schema_arrow)
        flat_lists = {field.name for field in fields if _is_flat_list(field.type)}
        lists = [name for name in flat_lists if name == list_column]  # one, or none
        readable = [field.name for field in fields if _is_flat(field.type) or field.name in lists]
        unreadable = {
            field.name: f"of type {field.type} is not text"
            for field in fields
            if field.name not in readable
        }  # never read: a nested or fixed-width column can hide any number of values per row
        _check_metadata(file.metadata, source, max_rows, max_bytes, _leaves(file, lists))
        file = _open(data, read_dictionary=_text_leaves(file, lists))
        batches = _bounded_batches(file, readable, source, max_rows, max_bytes)
        schema = pa.schema([file.schema_arrow.field(name) for name in readable])
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
            column = table.column(index)
            columns[name] = _list_strings(column) if name in lists else column_strings(column)
        except NotText as reason:
            unreadable[name] = str(reason)
    return pa.table(columns), unreadable, frozenset(flat_lists - set(lists))


def _open(data: Path | bytes, read_dictionary: list[str] | None) -> pq.ParquetFile:
    source = pa.BufferReader(data) if isinstance(data, bytes) else data
    return pq.ParquetFile(source, read_dictionary=read_dictionary)


def _check_metadata(
    metadata: pq.FileMetaData, source: str, max_rows: int, max_bytes: int, leaves: set[int]
) -> None:
    """Refuse by what the file says of itself, before a page is read; ``leaves``: the physical
    columns of list items, whose every item decodes to an offset at least."""
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
    items = sum(
        metadata.row_group(group).column(column).num_values
        for group in range(metadata.num_row_groups)
        for column in leaves
    )
    if items * OFFSET_BYTES > max_bytes:
        raise DataTooLarge(
            f"{source}: its list columns hold {items:,} items; the limit is "
            f"{max_bytes // OFFSET_BYTES:,} ({max_bytes:,} bytes of decoded values)"
        )


def _leaves(file: pq.ParquetFile, lists: list[str]) -> set[int]:
    """The physical columns that hold the items of the list columns ``lists``."""
    schema = file.schema
    return {i for i in range(len(schema)) if schema.column(i).path.split(".")[0] in lists}


def _text_leaves(file: pq.ParquetFile, lists: list[str]) -> list[str]:
    """The paths of the text columns and of the text items of the list columns ``lists``, read
    in dictionary form."""
    found: list[str] = []
    for field in file.schema_arrow:
        if _is_text(field.type):
            found.append(field.name)
        elif field.name in lists and _is_text(field.type.value_type):
            schema = file.schema
            found += [
                schema.column(i).path
                for i in range(len(schema))
                if schema.column(i).path.split(".")[0] == field.name
            ]
    return found


def _bounded_batches(
    file: pq.ParquetFile, columns: list[str], source: str, max_rows: int, max_bytes: int
) -> list[pa.RecordBatch]:
    """The batches of ``columns``, refused at the first that takes rows or bytes over the limits.

    Read one row group at a time: a batch across two would join their dictionaries, which
    Arrow cannot do for the items of a list column."""
    batches: list[pa.RecordBatch] = []
    rows = size = 0
    for batch in (
        batch
        for group in range(file.num_row_groups)
        for batch in file.iter_batches(
            batch_size=BATCH_ROWS, row_groups=[group], columns=columns, use_threads=False
        )
    ):
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
    if isinstance(column, pa.ListArray | pa.LargeListArray):
        return decoded_size(_items(column)) + OFFSET_BYTES * len(column)
    if not isinstance(column, pa.DictionaryArray):
        return int(column.nbytes)
    dictionary = column.dictionary
    if _is_text(dictionary.type):
        lengths = pc.binary_length(dictionary)
        values = pc.sum(pc.take(lengths, column.indices)).as_py() or 0
        return int(values) + OFFSET_BYTES * len(column)  # and an offset (int64 when large)
    try:
        return dictionary.type.bit_width // 8 * len(column)  # numbers, dates: fixed width
    except ValueError:  # nested values: no cheaper bound than the largest at every row
        return int(dictionary.nbytes) * len(column)


def _list_strings(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A list column with its items as text (``column_strings``), the lists as they were."""
    kind = pa.list_(pa.string())
    chunks = []
    for chunk in column.chunks:
        items = column_strings(pa.chunked_array([_items(chunk)], chunk.type.value_type))
        offsets = pc.subtract(chunk.offsets, chunk.offsets[0]).cast(pa.int32())
        texts = pa.concat_arrays(items.chunks) if items.num_chunks else pa.array([], pa.string())
        chunks.append(pa.ListArray.from_arrays(offsets, texts, kind, mask=chunk.is_null()))
    return pa.chunked_array(chunks, kind)


def _items(lists: pa.ListArray | pa.LargeListArray) -> pa.Array:
    """Every item the lists' offsets span, in order (``flatten`` would leave out the items a
    null list still spans, and the offsets would no longer fit)."""
    start, end = lists.offsets[0].as_py(), lists.offsets[-1].as_py()
    return lists.values.slice(start, end - start)


def _is_flat_list(kind: pa.DataType) -> bool:
    """A list of flat values (label sets), whatever their number per row."""
    return (pa.types.is_list(kind) or pa.types.is_large_list(kind)) and _is_flat(kind.value_type)


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
