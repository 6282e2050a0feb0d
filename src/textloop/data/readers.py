"""Reads CSV, TSV, JSONL, Parquet, .xlsx, Label Studio and Argilla files into one kind of table:
(text, label[, split], extras).

Every value arrives as the text it was written as: no reader lets a type be guessed and cast
back, because a guess turns ``007`` into ``7``, merges ``1.0`` with ``1`` and rounds an 18-digit
id. Text formats are read as strings cell by cell (``delimited``, ``jsonlines``); typed formats
convert each value without loss or refuse its column by name (``values``, ``spreadsheet``). The
column names are the user's; the result always uses ``text`` and ``label`` (and ``split`` when
the file assigns splits itself). Every other column follows as text, renamed ``extra:<its
name>`` (see ``EXTRA_PREFIX``), so that evaluation can slice by it later. A text file must be
UTF-8 unless ``ReadOptions.encoding`` names another: one that is not is refused naming the line
of the first bad byte (``encoding``), before it is parsed. What a reader decided on its own (the
delimiter it sniffed, the bad rows it skipped) is passed to ``notify``, for the CLI to say.

Each format has one reader, registered by name in ``file_readers`` (a user's own format
registers the same way). A file's format is ``ReadOptions.file_format`` when given, else its
extension's; a JSON file (``.json``, ``.jsonl``, ``.ndjson``: the format ``json``) is read as
JSON Lines unless its first record is a Label Studio task or an Argilla record
(``annotations.sniff_export``). An annotation tool's export can leave a cell with no single label
(annotators who disagree); such a row is refused naming the record, or skipped, when that cell is
the chosen label (``row_limits.without_bad_cells``).

With ``ReadOptions.multi_label`` the label column holds label sets (``label_columns``): a cell
of names joined by ``label_separator``, or a Parquet or JSON list per row; the table's ``label``
is then each set encoded (``label_sets.encode``); an export's label question is read as sets
(``annotations``), its records that nobody answered left out and counted. A label column of
lists read without it is refused. No other column of lists is ever read
(``ReadOptions.list_column``): an extra column of lists (a tokenised dataset's ``input_ids``)
is dropped unread, as any nested column, and counts against no limit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa

from textloop.data.annotations import Flattened, sniff_export
from textloop.data.argilla import read_argilla
from textloop.data.delimited import describe, read_delimited, row_start_lines, sniff_delimiter
from textloop.data.encoding import TEXT_FORMATS, check_bytes, check_file, transcoded
from textloop.data.jsonlines import read_jsonl, row_lines
from textloop.data.label_columns import is_list, refuse_lists, sets_from_cells, sets_from_lists
from textloop.data.label_sets import DEFAULT_SEPARATOR, check_separator
from textloop.data.label_studio import read_label_studio
from textloop.data.parquet import read_parquet
from textloop.data.row_limits import (
    SHOWN,
    Where,
    lines,
    rows_numbered,
    within_limits,
    without_bad_cells,
)
from textloop.data.spreadsheet import read_xlsx
from textloop.data.untrusted import regular_file
from textloop.data.values import NotText, column_strings
from textloop.errors import DataError
from textloop.plugins import Registry

FORMATS = {  # by extension; the format ``json`` is JSON Lines or an export, by content
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "json",
    ".ndjson": "json",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
}
SPLITS = ("train", "validation", "test")
EXTRA_PREFIX = "extra:"
Notify = Callable[[str], None]
MAX_ROWS = 1_000_000  # as the max_upload_rows setting
# 1,000,000 rows of 256 characters; a larger file is better split (a decompression bomb is not)
MAX_DECODED_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class ReadOptions:
    """How to read a text file, when its defaults are not right.

    ``file_format``: the name of a registered reader (``csv``, ``label-studio``, ...); None
    chooses by the file's extension (and a JSON file's first record).
    ``delimiter``: None reads ``.tsv`` as tab-separated and sniffs a ``.csv`` file's delimiter.
    ``encoding``: None means UTF-8 (checked). ``skip_bad_rows``: skip a bad row (a CSV/TSV row
    whose number of fields is not the header's, a text or label over its limit, see
    ``row_limits``) instead of refusing the file. ``max_rows`` and ``max_decoded_bytes`` bound
    what a compressed format (Parquet, .xlsx), or a text file in another ``encoding``, may
    decode to: such a file is refused while it is read, as soon as it passes either
    (``DataTooLarge``), however small it is on disk. ``multi_label``: the label column holds
    label sets, its cells' names joined by ``label_separator`` (``label_columns``).
    ``list_column``: the one column a reader may read as lists of single values; the labelled
    reads set it to the label column of a multi-label read, and every other column of lists is
    left unread (``Parsed.lists``).
    """

    delimiter: str | None = None
    encoding: str | None = None
    skip_bad_rows: bool = False
    file_format: str | None = None
    max_rows: int = MAX_ROWS
    max_decoded_bytes: int = MAX_DECODED_BYTES
    multi_label: bool = False
    label_separator: str = DEFAULT_SEPARATOR
    list_column: str | None = None


DEFAULT = ReadOptions()


def read_text_file(
    path: Path,
    text_column: str = "text",
    options: ReadOptions = DEFAULT,
    notify: Notify | None = None,
) -> list[str | None]:
    """The texts of one column of an unlabelled file (for the pool), in file order."""
    read = _read_path(path, options, notify)
    table, unreadable = read.table, read.unreadable
    if text_column not in table.column_names and text_column not in unreadable:
        found = ", ".join(table.column_names) or "none"
        raise DataError(
            f"{path}: column {text_column!r} not found (columns found: {found}); "
            "choose it with --text-column"
        )
    texts = pa.table({"text": _as_strings(table, text_column, str(path), unreadable)})
    texts = within_limits(texts, str(path), read.where, options.skip_bad_rows, notify)
    return list(texts.column("text").to_pylist())


def read_labelled_file(
    path: Path,
    text_column: str = "text",
    label_column: str = "label",
    split_column: str | None = None,
    options: ReadOptions = DEFAULT,
    notify: Notify | None = None,
) -> pa.Table:
    """Read ``path`` into string columns ``text``, ``label`` (``split``) and ``extra:<name>``."""
    read = _read_path(path, _lists_in(options, label_column), notify)
    columns = (text_column, label_column, split_column)
    return _labelled(read, str(path), columns, options, notify)


def read_labelled_bytes(
    data: bytes,
    file_format: str,
    source: str,
    text_column: str = "text",
    label_column: str = "label",
    split_column: str | None = None,
    options: ReadOptions = DEFAULT,
) -> pa.Table:
    """The same as ``read_labelled_file`` for an upload held in memory."""
    known_format(file_format)
    if options.encoding is None:
        check_bytes(data, file_format, source)
    read = _read(data, file_format, source, _lists_in(options, label_column), None)
    return _labelled(read, source, (text_column, label_column, split_column), options, None)


def parse_labelled(
    data: Path,
    file_format: str,
    source: str,
    text_column: str = "text",
    label_column: str = "label",
    split_column: str | None = None,
    options: ReadOptions = DEFAULT,
) -> pa.Table:
    """Parse a file whose encoding is already checked (an upload is, as it streams in)."""
    read = _read(data, file_format, source, _lists_in(options, label_column), None)
    return _labelled(read, source, (text_column, label_column, split_column), options, None)


def _lists_in(options: ReadOptions, label_column: str) -> ReadOptions:
    """``options`` for reading a labelled file: its label column is the one read as lists, and
    only in a multi-label read."""
    return replace(options, list_column=label_column if options.multi_label else None)


def _labelled(
    read: Parsed,
    source: str,
    columns: tuple[str, str, str | None],
    options: ReadOptions,
    notify: Notify | None,
) -> pa.Table:
    text_column, label_column, split_column = columns
    listed = _read_lists(read, source, label_column, options)
    table = select_columns(
        listed.table, source, text_column, label_column, split_column, listed.unreadable
    )
    where = read.where
    bad = {row: why for name in columns if name for row, why in read.bad.get(name, {}).items()}
    if bad:
        table, kept = without_bad_cells(table, bad, source, where, options.skip_bad_rows, notify)
        where = _kept(read.where, kept)
    if options.multi_label and listed is read:  # cells of text: sets joined by the separator
        sets = sets_from_cells(table.column("label"), source, where, options.label_separator)
        table = table.set_column(table.column_names.index("label"), "label", sets)
    skip = options.skip_bad_rows
    return within_limits(table, source, where, skip, notify, label_sets=options.multi_label)


def _read_lists(read: Parsed, source: str, label_column: str, options: ReadOptions) -> Parsed:
    """``read`` with its label column of lists as encoded label sets; ``read`` itself when the
    column is not one of lists."""
    if options.multi_label:
        check_separator(options.label_separator)
    elif label_column in read.lists:
        raise refuse_lists(source, label_column)
    if label_column not in read.table.column_names:
        return read
    column = read.table.column(label_column)
    if not is_list(column.type):
        return read
    if not options.multi_label:  # a reader of a user's own that read it all the same
        raise refuse_lists(source, label_column)
    sets = sets_from_lists(column, source, read.where, options.label_separator)
    index = read.table.column_names.index(label_column)
    return replace(read, table=read.table.set_column(index, label_column, sets))


def select_columns(
    table: pa.Table,
    source: str,
    text_column: str = "text",
    label_column: str = "label",
    split_column: str | None = None,
    unreadable: Mapping[str, str] | None = None,
) -> pa.Table:
    """Rename the chosen columns to ``text``, ``label`` (and ``split``) and keep the rest.

    Every other column of ``table`` follows as strings (nulls stay null) under the name
    ``extra:<original name>``, which cannot collide with ``text``, ``label`` or ``split``. An
    extra column that has no faithful text (binary data, nested lists or structs; listed in
    ``unreadable`` with the reason) is dropped rather than failing the ingest, as is a second
    column with an already used name; a chosen column of that kind is refused by name.
    """
    unreadable = dict(unreadable or {})
    wanted = {"text": text_column, "label": label_column}
    if split_column:
        wanted["split"] = split_column
    present = set(table.column_names) | set(unreadable)
    missing = [name for name in wanted.values() if name not in present]
    if missing:
        found = ", ".join(table.column_names) or "none"
        raise DataError(
            f"{source}: column {', '.join(repr(m) for m in missing)} not found "
            f"(columns found: {found}); choose columns with --text-column/--label-column"
        )
    columns = {key: _as_strings(table, name, source, unreadable) for key, name in wanted.items()}
    used = set(wanted.values())
    for index, name in enumerate(table.column_names):
        if name in used or name in unreadable:
            continue
        used.add(name)
        try:
            columns[EXTRA_PREFIX + name] = column_strings(table.column(index))
        except NotText:
            continue
    result = pa.table(columns)
    if split_column:
        unknown = set(result.column("split").to_pylist()) - set(SPLITS) - {None, ""}
        if unknown:
            raise DataError(
                f"{source}: column {split_column!r} holds {sorted(unknown)!r}; "
                f"allowed values are {', '.join(SPLITS)} or empty"
            )
    return result


def extra_columns(table: pa.Table) -> list[str]:
    """The original names of the extra columns of a table from ``select_columns``, in order."""
    return [
        name.removeprefix(EXTRA_PREFIX)
        for name in table.column_names
        if name.startswith(EXTRA_PREFIX)
    ]


@dataclass(frozen=True)
class Parsed:
    """A file read as string columns, the columns with no text (and why), and where rows are.

    ``bad``: per column, the rows whose cell has no single value (an export's annotators who
    disagree), and why; refused or skipped only when the column is chosen. ``lists``: the
    columns of lists of single values left unread (all but ``ReadOptions.list_column``), also
    among ``unreadable``; a single-label read refuses its label column there saying how to read
    it as label sets.
    """

    table: pa.Table
    unreadable: dict[str, str]
    where: Where
    bad: dict[str, dict[int, str]] = field(default_factory=dict)
    lists: frozenset[str] = frozenset()


# One file format: (the file or an upload's bytes, its name for messages, options, notify).
Reader = Callable[[Path | bytes, str, ReadOptions, Notify | None], Parsed]
file_readers = Registry("file format", "file formats", "file_format", lambda: None)


def known_format(name: str) -> None:
    """Refuse a format no reader is registered for, listing those that are."""
    if name not in file_readers.names():
        known = ", ".join(file_readers.names())
        raise DataError(f"unknown format {name!r}; use one of {known}", field="format")


def _kept(where: Where, kept: list[int]) -> Where:
    """Places of the rows left after some were skipped, by their index before."""
    return lambda indices: where([kept[i] for i in indices])


def _read_path(path: Path, options: ReadOptions, notify: Notify | None) -> Parsed:
    if not path.exists():
        raise DataError(f"{path}: no such file")
    regular_file(path)  # a FIFO or a device is refused before it is opened
    if options.file_format is not None:
        known_format(options.file_format)
        file_format = options.file_format
    elif path.suffix.lower() in FORMATS:
        file_format = FORMATS[path.suffix.lower()]
    else:
        known = ", ".join(sorted(FORMATS))
        raise DataError(
            f"{path}: unknown file type {path.suffix!r}; use one of {known}, or name the "
            "format with --format"
        )
    if options.encoding is None:
        check_file(path, file_format, str(path))
    return _read(path, file_format, str(path), options, notify)


def _read(
    data: Path | bytes,
    file_format: str,
    source: str,
    options: ReadOptions,
    notify: Notify | None,
) -> Parsed:
    """The file as a table of string columns, and the columns that have no text (why)."""
    if options.encoding is not None and file_format in TEXT_FORMATS:
        data = transcoded(data, options.encoding, source, options.max_decoded_bytes)
        check_bytes(data, file_format, source)  # its lines are bounded as a UTF-8 file's are
    reader: Reader = file_readers.get(file_format)
    return reader(data, source, options, notify)


@file_readers.register("csv")
def _read_csv(
    data: Path | bytes, source: str, options: ReadOptions, notify: Notify | None
) -> Parsed:
    return _delimited(data, source, options, notify, options.delimiter)


@file_readers.register("tsv")
def _read_tsv(
    data: Path | bytes, source: str, options: ReadOptions, notify: Notify | None
) -> Parsed:
    return _delimited(data, source, options, notify, options.delimiter or "\t")


def _delimited(
    data: Path | bytes,
    source: str,
    options: ReadOptions,
    notify: Notify | None,
    delimiter: str | None,
) -> Parsed:
    if delimiter is None:
        delimiter = sniff_delimiter(data)
        if notify is not None:
            notify(f"read {source} as {describe(delimiter)}")
    elif len(delimiter) != 1:
        raise DataError(f"--delimiter must be one character, got {delimiter!r}")
    table = read_delimited(
        data, source, delimiter, skip_bad_rows=options.skip_bad_rows, notify=notify
    )
    return Parsed(table, {}, lines(lambda: row_start_lines(data, delimiter)))


@file_readers.register("jsonl")
def _read_jsonl(
    data: Path | bytes, source: str, options: ReadOptions, notify: Notify | None
) -> Parsed:
    table, unreadable, lists = read_jsonl(data, source, options.list_column)
    return Parsed(table, unreadable, lines(lambda: row_lines(data)), lists=lists)


@file_readers.register("json")
def _read_json(
    data: Path | bytes, source: str, options: ReadOptions, notify: Notify | None
) -> Parsed:
    """JSON Lines, or the export of an annotation tool when the first record is one."""
    reader: Reader = file_readers.get(sniff_export(data, source))
    return reader(data, source, options, notify)


@file_readers.register("xlsx")
def _read_xlsx(
    data: Path | bytes, source: str, options: ReadOptions, notify: Notify | None
) -> Parsed:
    table, numbers = read_xlsx(data, source, options.max_rows, options.max_decoded_bytes)
    return Parsed(table, {}, lambda indices: [f"sheet row {numbers[i]}" for i in indices])


@file_readers.register("parquet")
def _read_parquet(
    data: Path | bytes, source: str, options: ReadOptions, notify: Notify | None
) -> Parsed:
    table, unreadable, lists = read_parquet(
        data, source, options.max_rows, options.max_decoded_bytes, options.list_column
    )
    return Parsed(table, unreadable, rows_numbered(), lists=lists)


@file_readers.register("label-studio")
def _read_label_studio(
    data: Path | bytes, source: str, options: ReadOptions, notify: Notify | None
) -> Parsed:
    return _export(read_label_studio(data, source, options.list_column), source, notify)


@file_readers.register("argilla")
def _read_argilla(
    data: Path | bytes, source: str, options: ReadOptions, notify: Notify | None
) -> Parsed:
    return _export(read_argilla(data, source, options.list_column), source, notify)


def _export(flat: Flattened, source: str, notify: Notify | None) -> Parsed:
    """An export's rows, named by the reader's places; the rows of a multi-label read that
    nobody answered are left out and counted, since no set is not the empty set."""
    places, left_out = flat.places, flat.left_out
    if left_out and notify is not None:
        more = f" and {len(left_out) - SHOWN:,} more" if len(left_out) > SHOWN else ""
        notify(
            f"left out {len(left_out):,} rows of {source} that nobody answered "
            f"({', '.join(left_out[:SHOWN])}{more})"
        )
    return Parsed(flat.table, flat.unreadable, lambda rows: [places[i] for i in rows], flat.bad)


def _as_strings(
    table: pa.Table, name: str, source: str, unreadable: Mapping[str, str]
) -> pa.ChunkedArray:
    if name in unreadable:
        raise DataError(f"{source}: column {name!r} {unreadable[name]}")
    if is_list(table.column(name).type):
        raise DataError(f"{source}: column {name!r} holds lists, not text")
    try:
        return column_strings(table.column(name))
    except NotText as reason:
        raise DataError(f"{source}: column {name!r} {reason}") from None
