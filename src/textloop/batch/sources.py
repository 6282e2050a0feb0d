"""An input file (or folder of Parquet parts) planned as numbered chunks and read one at a time.

A chunk is a fixed run of rows of one part: planning reads Parquet metadata, or scans a text file
once for the byte offset where each chunk begins, so that any process can read any chunk by
itself (a Ray actor, a worker resuming a job) and every reader sees the same rows in it. Values
arrive as the text they were written as (CSV/TSV/JSONL as strings, JSON numbers as their token);
Parquet columns keep their types. A row that cannot be read as a record (a CSV row with the wrong
number of fields, a JSONL line that is not an object) is not fatal: it is read as an empty row
with its reason, and ends in the output's ``error`` column; so is a text over the length limit.

Memory stays flat whatever the file: a line is read with a bound (``MAX_ROW_BYTES``, as is a CSV
row with its quoted newlines), past which the input is refused naming the line, and a chunk ends
after ``CHUNK_ROWS`` rows or ``CHUNK_BYTES`` bytes. Only regular files are read, checked without
opening them (``data.untrusted``): a FIFO would block the reader for ever.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from textloop.data.delimited import sniff_delimiter
from textloop.data.encoding import check_file
from textloop.data.row_limits import MAX_TEXT_LENGTH
from textloop.data.untrusted import regular_file
from textloop.data.values import NotText, value_text
from textloop.errors import DataError

CHUNK_ROWS = 2048
CHUNK_BYTES = 16 * 1024 * 1024  # a chunk also ends once it holds this many bytes
MAX_ROW_BYTES = 4 * 1024 * 1024  # a line, or a CSV row with its quoted newlines; past it: refused
# a text past row_limits.MAX_TEXT_LENGTH is an error row (too long); a field past the row limit
# refuses the input at the line it is on
csv.field_size_limit(MAX_ROW_BYTES)
FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
PARQUET_BATCH = 1024  # rows decoded at a time while seeking inside a row group


@dataclass(frozen=True)
class Chunk:
    index: int
    part: str  # the file it is in
    start: int  # its first row within that file
    rows: int
    offset: int = 0  # byte range in a text file
    end: int = 0


@dataclass(frozen=True)
class Source:
    """What a chunk reader needs to know of the input, small enough to send to another process."""

    path: str
    format: str
    columns: tuple[str, ...]
    delimiter: str = ","
    schema: bytes | None = field(default=None, repr=False)  # a Parquet input's Arrow schema

    @property
    def arrow_schema(self) -> pa.Schema:
        if self.schema is not None:
            return pa.ipc.read_schema(pa.py_buffer(self.schema))
        return pa.schema([(name, pa.string()) for name in self.columns])


@dataclass(frozen=True)
class Plan:
    source: Source
    chunks: tuple[Chunk, ...]

    @property
    def rows(self) -> int:
        return sum(chunk.rows for chunk in self.chunks)


def input_format(path: Path) -> str:
    if path.is_dir():
        return "parquet"
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        known = ", ".join(sorted(FORMATS))
        suffix = path.suffix or "no extension"
        raise DataError(f"{path}: cannot tell the format from {suffix!r}; use one of {known}")
    return found


def plan(path: Path, chunk_rows: int = CHUNK_ROWS) -> Plan:
    """Every chunk of the input at ``path``, in order; ``DataError`` when it cannot be read."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    file_format = input_format(path)
    if file_format == "parquet":
        return _plan_parquet(path, chunk_rows)
    regular_file(path)
    check_file(path, file_format, str(path), "save the file as UTF-8")
    if file_format == "jsonl":
        return _plan_jsonl(path, chunk_rows)
    return _plan_delimited(path, file_format, chunk_rows)


def read_chunks(
    source: Source, chunks: Sequence[Chunk]
) -> Iterator[tuple[Chunk, pa.Table, list[str | None]]]:
    """``chunks`` (in plan order) read one after another: a Parquet part is decoded once from
    the first chunk wanted to the last, instead of from its row group's start for each chunk."""
    if source.format != "parquet":
        for chunk in chunks:
            yield (chunk, *read_chunk(source, chunk))
        return
    by_part: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_part.setdefault(chunk.part, []).append(chunk)
    for part, wanted in by_part.items():
        for chunk, table in _parquet_chunks(source, part, wanted):
            yield chunk, table, [None] * chunk.rows


def read_chunk(source: Source, chunk: Chunk) -> tuple[pa.Table, list[str | None]]:
    """The chunk's rows, and for each the reason it could not be read (None when it could)."""
    if source.format == "parquet":
        return _read_parquet(source, chunk), [None] * chunk.rows
    with open(chunk.part, "rb") as handle:
        handle.seek(chunk.offset)
        data = handle.read(chunk.end - chunk.offset)
    if source.format == "jsonl":
        return _read_jsonl(source, data, chunk)
    return _read_delimited(source, data, chunk)


# Parquet: chunks from the metadata; a folder is its *.parquet parts in name order.


def _parts(path: Path) -> list[Path]:
    if not path.is_dir():
        regular_file(path)
        return [path]
    parts = sorted(p for p in path.iterdir() if p.suffix.lower() in (".parquet", ".pq"))
    if not parts:
        raise DataError(f"{path}: the folder holds no .parquet files")
    for part in parts:
        regular_file(part)
    return parts


def _plan_parquet(path: Path, chunk_rows: int) -> Plan:
    chunks: list[Chunk] = []
    schema: pa.Schema | None = None
    for part in _parts(path):
        try:
            parquet = pq.ParquetFile(part)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{part}: not a readable Parquet file ({exc})") from None
        if schema is None:
            schema = parquet.schema_arrow
        elif not parquet.schema_arrow.equals(schema):
            raise DataError(f"{part}: its columns differ from those of {_parts(path)[0].name}")
        total = parquet.metadata.num_rows
        for start in range(0, total, chunk_rows):
            chunks.append(Chunk(len(chunks), str(part), start, min(chunk_rows, total - start)))
    assert schema is not None
    schema = schema.remove_metadata()
    source = Source(
        str(path), "parquet", tuple(schema.names), schema=schema.serialize().to_pybytes()
    )
    return Plan(source, tuple(chunks))


def _read_parquet(source: Source, chunk: Chunk) -> pa.Table:
    ((_, table),) = _parquet_chunks(source, chunk.part, [chunk])
    return table


def _parquet_chunks(
    source: Source, part: str, chunks: Sequence[Chunk]
) -> Iterator[tuple[Chunk, pa.Table]]:
    """The chunks of one part, ascending, decoded in one pass from the row group holding the
    first; row groups before it are not read at all."""
    parquet = pq.ParquetFile(part)
    first, passed = 0, 0  # the row group holding the first chunk's first row, rows before it
    for group in range(parquet.metadata.num_row_groups):
        size = parquet.metadata.row_group(group).num_rows
        if chunks[0].start < passed + size:
            first = group
            break
        passed += size
    groups = list(range(first, parquet.metadata.num_row_groups))
    batches = parquet.iter_batches(batch_size=PARQUET_BATCH, row_groups=groups)
    pending: pa.RecordBatch | None = None
    position = passed  # the file row at which ``pending`` starts
    for chunk in chunks:
        taken: list[pa.RecordBatch] = []
        wanted = chunk.rows
        while wanted:
            if pending is None or pending.num_rows == 0:
                pending = next(batches)
            if position < chunk.start:  # rows before the chunk (a chunk not asked for)
                skip = min(chunk.start - position, pending.num_rows)
                pending, position = pending.slice(skip), position + skip
                continue
            piece = pending.slice(0, wanted)
            taken.append(piece)
            pending = pending.slice(piece.num_rows)
            position += piece.num_rows
            wanted -= piece.num_rows
        yield chunk, pa.Table.from_batches(taken, schema=source.arrow_schema).combine_chunks()


# Text files: one scan records where each chunk begins.


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Each line with the byte offset it starts at, none held past ``MAX_ROW_BYTES``."""
    offset = 0
    with path.open("rb") as handle:
        for number, line in enumerate(iter(lambda: handle.readline(MAX_ROW_BYTES + 1), b""), 1):
            if len(line) > MAX_ROW_BYTES:
                raise _too_long(path, f"line {number}")
            yield offset, line
            offset += len(line)


def _too_long(path: Path, where: str) -> DataError:
    return DataError(
        f"{path}: {where} is over {MAX_ROW_BYTES:,} bytes, the limit on one row (a text is at "
        f"most {MAX_TEXT_LENGTH:,} characters); is the file in the format its name says?"
    )


def _plan_delimited(path: Path, file_format: str, chunk_rows: int) -> Plan:
    delimiter = "\t" if file_format == "tsv" else sniff_delimiter(path)
    lines = _lines(path)
    # the offset after the last line read; where the row being read starts (offset, line)
    position = {"next": 0, "row": 0, "row_line": 1}

    def decoded() -> Iterator[str]:
        for offset, line in lines:
            position["next"] = offset + len(line)
            if position["next"] - position["row"] > MAX_ROW_BYTES:  # quoted newlines
                raise _too_long(path, f"the row that starts at line {position['row_line']}")
            yield line.decode("utf-8-sig" if offset == 0 else "utf-8")

    reader = csv.reader(decoded(), delimiter=delimiter, strict=False)
    try:
        return _scan_delimited(path, file_format, delimiter, reader, position, chunk_rows)
    except csv.Error as exc:
        raise DataError(f"{path}: line {reader.line_num}: {exc}") from None


def _scan_delimited(
    path: Path,
    file_format: str,
    delimiter: str,
    reader: Any,
    position: dict[str, int],
    chunk_rows: int,
) -> Plan:
    header = next(reader, None)
    if not header:
        raise DataError(f"{path}: the file is empty; the first line must name the columns")
    chunks = _Chunks(str(path), chunk_rows)
    position["row"], position["row_line"] = position["next"], reader.line_num + 1
    chunks.begin(position["next"])
    for row in reader:
        position["row"], position["row_line"] = position["next"], reader.line_num + 1
        if row:  # a blank line holds no row (as for ingest)
            chunks.row(position["next"])
    chunks.close()
    source = Source(str(path), file_format, tuple(_unique(header)), delimiter)
    return Plan(source, tuple(chunks.done))


class _Chunks:
    """Cuts a text file's rows into chunks of ``rows`` rows or ``CHUNK_BYTES`` bytes."""

    def __init__(self, part: str, rows: int) -> None:
        self.part, self.limit = part, rows
        self.done: list[Chunk] = []
        self.begun, self.rows, self.start, self.end = 0, 0, 0, 0

    def begin(self, offset: int) -> None:
        """Rows begin at ``offset`` (after a header, or blank lines)."""
        self.begun = offset

    def row(self, end: int) -> None:
        """One more row, ending at byte ``end``."""
        self.rows, self.end = self.rows + 1, end
        if self.rows == self.limit or end - self.begun >= CHUNK_BYTES:
            self._cut(end)

    def close(self) -> None:
        if self.rows:
            self._cut(self.end)

    def _cut(self, end: int) -> None:
        self.done.append(Chunk(len(self.done), self.part, self.start, self.rows, self.begun, end))
        self.start += self.rows
        self.begun, self.rows = end, 0


def _unique(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for name in header:
        name = name.strip() or "column"
        count = seen.get(name, 0)
        seen[name] = count + 1
        names.append(name if count == 0 else f"{name}_{count + 1}")
    return names


def _read_delimited(source: Source, data: bytes, chunk: Chunk) -> tuple[pa.Table, list[str | None]]:
    width = len(source.columns)
    columns: list[list[str | None]] = [[] for _ in range(width)]
    errors: list[str | None] = []
    text = data.decode("utf-8-sig" if chunk.offset == 0 else "utf-8")
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=source.delimiter, strict=False)
    try:
        return _parse_rows(source, rows, columns, errors)
    except csv.Error as exc:  # planning parsed the same bytes, so this is not expected
        raise DataError(f"{chunk.part}: rows from {chunk.start + 1}: {exc}") from None


def _parse_rows(
    source: Source, rows: Any, columns: list[list[str | None]], errors: list[str | None]
) -> tuple[pa.Table, list[str | None]]:
    width = len(source.columns)
    for row in rows:
        if not row:
            continue
        fields: list[str | None] = list(row)
        if len(row) == width:
            errors.append(None)
        else:
            errors.append(f"the row has {len(row)} fields, the header {width}")
            fields = [None] * width
        for values, value in zip(columns, fields, strict=True):
            values.append(value)
    table = pa.table(
        {
            name: pa.array(values, pa.string())
            for name, values in zip(source.columns, columns, strict=True)
        }
    )
    return table, errors


def _plan_jsonl(path: Path, chunk_rows: int) -> Plan:
    keys: dict[str, None] = {}
    chunks = _Chunks(str(path), chunk_rows)
    for offset, line in _lines(path):
        end = offset + len(line)
        encoding = "utf-8-sig" if offset == 0 else "utf-8"
        if not line.decode(encoding, "replace").strip():  # blank as the reader judges it
            if chunks.rows == 0:
                chunks.begin(end)
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict):
            keys.update(dict.fromkeys(record))
        chunks.row(end)
    chunks.close()
    if not keys:
        raise DataError(f"{path}: no line holds a JSON object; expected one object per line")
    return Plan(Source(str(path), "jsonl", tuple(keys)), tuple(chunks.done))


def _read_jsonl(source: Source, data: bytes, chunk: Chunk) -> tuple[pa.Table, list[str | None]]:
    columns: dict[str, list[str | None]] = {name: [] for name in source.columns}
    errors: list[str | None] = []
    for line in data.decode("utf-8-sig" if chunk.offset == 0 else "utf-8").split("\n"):
        if not line.strip():
            continue
        error = None
        try:
            record = json.loads(line, parse_int=str, parse_float=str, parse_constant=str)
        except ValueError as exc:
            record, error = {}, f"not valid JSON: {exc}"
        if not isinstance(record, dict):
            record, error = {}, "not a JSON object"
        for name, values in columns.items():
            try:
                values.append(value_text(record[name]) if name in record else None)
            except NotText:
                values.append(json.dumps(record[name], ensure_ascii=False))
        errors.append(error)
    table = pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})
    return table, errors
