"""Reads CSV, JSONL and Parquet files into a (text, label[, split], extras) Arrow table.

Every format goes through pyarrow, so a file is decoded once, in C++, whatever its size; the
column names are the user's, the result always uses ``text`` and ``label`` (and ``split`` when the
file assigns splits itself). Every other column of the file follows as text, renamed
``extra:<its name>`` (see ``EXTRA_PREFIX``), so that evaluation can slice by it later. A text
file (CSV, TSV, JSONL) must be UTF-8: one that is not is refused naming the line of the first
bad byte (``encoding``), before pyarrow reads it.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from textloop.data.encoding import check_bytes, check_file
from textloop.errors import DataError

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
SPLITS = ("train", "validation", "test")
EXTRA_PREFIX = "extra:"


def read_text_file(path: Path, text_column: str = "text") -> list[str | None]:
    """The texts of one column of an unlabelled file (for the pool), in file order."""
    file_format = FORMATS[_checked(path).suffix.lower()]
    check_file(path, file_format, str(path))
    table = _read(path, file_format, str(path))
    if text_column not in table.column_names:
        found = ", ".join(table.column_names) or "none"
        raise DataError(
            f"{path}: column {text_column!r} not found (columns found: {found}); "
            "choose it with --text-column"
        )
    return list(_as_strings(table.column(text_column), text_column, str(path)).to_pylist())


def _checked(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix.lower() not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise DataError(f"{path}: unknown file type {path.suffix!r}; use one of {known}")
    return path


def read_labelled_file(
    path: Path,
    text_column: str = "text",
    label_column: str = "label",
    split_column: str | None = None,
) -> pa.Table:
    """Read ``path`` into string columns ``text``, ``label`` (``split``) and ``extra:<name>``."""
    file_format = FORMATS[_checked(path).suffix.lower()]
    check_file(path, file_format, str(path))
    return parse_labelled(path, file_format, str(path), text_column, label_column, split_column)


def read_labelled_bytes(
    data: bytes,
    file_format: str,
    source: str,
    text_column: str = "text",
    label_column: str = "label",
    split_column: str | None = None,
) -> pa.Table:
    """The same as ``read_labelled_file`` for an upload held in memory."""
    if file_format not in set(FORMATS.values()):
        known = ", ".join(sorted(set(FORMATS.values())))
        raise DataError(f"unknown format {file_format!r}; use one of {known}", field="format")
    check_bytes(data, file_format, source)
    return parse_labelled(
        pa.BufferReader(data), file_format, source, text_column, label_column, split_column
    )


def parse_labelled(
    data: Path | pa.BufferReader,
    file_format: str,
    source: str,
    text_column: str = "text",
    label_column: str = "label",
    split_column: str | None = None,
) -> pa.Table:
    """Parse a file whose encoding is already checked (an upload is, as it streams in)."""
    table = _read(data, file_format, source)
    return select_columns(table, source, text_column, label_column, split_column)


def select_columns(
    table: pa.Table,
    source: str,
    text_column: str = "text",
    label_column: str = "label",
    split_column: str | None = None,
) -> pa.Table:
    """Rename the chosen columns to ``text``, ``label`` (and ``split``) and keep the rest.

    Every other column of ``table`` follows as strings (nulls stay null) under the name
    ``extra:<original name>``, which cannot collide with ``text``, ``label`` or ``split``. An
    extra column that cannot be turned into text (binary data, nested lists or structs) is dropped
    rather than failing the ingest, as is a second column with an already used name.
    """
    wanted = {"text": text_column, "label": label_column}
    if split_column:
        wanted["split"] = split_column
    missing = [name for name in wanted.values() if name not in table.column_names]
    if missing:
        found = ", ".join(table.column_names) or "none"
        raise DataError(
            f"{source}: column {', '.join(repr(m) for m in missing)} not found "
            f"(columns found: {found}); choose columns with --text-column/--label-column"
        )
    columns = {key: _as_strings(table.column(name), name, source) for key, name in wanted.items()}
    used = set(wanted.values())
    for index, name in enumerate(table.column_names):
        if name in used:
            continue
        used.add(name)
        try:
            columns[EXTRA_PREFIX + name] = _as_strings(table.column(index), name, source)
        except DataError:
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


def _read(source: Path | pa.BufferReader, file_format: str, name: str) -> pa.Table:
    try:
        if file_format in ("csv", "tsv"):
            return pacsv.read_csv(
                source,
                parse_options=pacsv.ParseOptions(
                    delimiter="\t" if file_format == "tsv" else ",", newlines_in_values=True
                ),
                convert_options=pacsv.ConvertOptions(
                    strings_can_be_null=False, quoted_strings_can_be_null=False
                ),
            )
        if file_format == "jsonl":
            return pajson.read_json(source)
        return pq.read_table(source)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{name}: cannot read as {file_format}: {first_line}") from exc


def _as_strings(column: pa.ChunkedArray, name: str, source: str) -> pa.ChunkedArray:
    if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
        raise DataError(
            f"{source}: column {name!r} is not valid UTF-8 text; save the file as UTF-8"
        )
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.cast(pa.string())
    if pa.types.is_dictionary(column.type):
        return pc.cast(column, pa.string())
    try:
        return pc.cast(column, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(f"{source}: column {name!r} of type {column.type} is not text") from exc
