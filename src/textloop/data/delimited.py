"""Reads delimiter-separated text (CSV, TSV, a spreadsheet's export) with every cell as text.

Every cell is read as the string written in the file, never as a number guessed by type
inference: ``007``, ``1e3`` and ``5.70306E+17`` stay exactly that, and an empty cell is an empty
string. pyarrow does the parsing (once, in C++); the header row is parsed with it as data, so
that no column is ever typed. A ``.csv`` file's delimiter is guessed from its first 64 KiB among
``,`` ``;`` tab and ``|`` (spreadsheets export all of them under that name) unless one is
given. A row whose number of fields is not the header's refuses the file, naming its line,
unless bad rows are to be skipped: then they are counted and their lines named.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.csv as pacsv

from textloop.data.row_limits import SKIP_HINT
from textloop.errors import DataError

DELIMITERS = ",;\t|"
SNIFF_BYTES = 64 * 1024
SHOWN_LINES = 10


def sniff_delimiter(data: bytes | Path) -> str:
    """The delimiter that splits the header into several fields and the most rows like it.

    Ties (a sample where two delimiters fit equally) go to ``csv.Sniffer``'s guess, then to the
    order of ``DELIMITERS``. A stray bad row does not change the choice: it is the majority that
    counts, so that the bad row can then be named by its line.
    """
    with _text(data) as text:
        sample = text.read(SNIFF_BYTES)
    if len(sample) == SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rindex("\n") + 1]  # whole lines only
    try:
        guess: str | None = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        guess = None
    scores = {d: _agreement(sample, d) for d in DELIMITERS}
    best = max(scores.values())
    if best <= 0:
        return ","  # no delimiter splits the header: one column, whatever its rows hold
    fitting = [d for d in DELIMITERS if scores[d] == best]
    return guess if guess in fitting else fitting[0]


def _agreement(sample: str, delimiter: str) -> float:
    """Share of the sample's complete rows with as many fields as the header; 0 when the header
    is one field (the delimiter does not occur in it)."""
    try:
        rows = [row for row in csv.reader(io.StringIO(sample), delimiter=delimiter) if row]
    except csv.Error:
        return 0.0
    if len(rows) > 1 and not sample.endswith("\n"):
        rows = rows[:-1]
    if not rows or len(rows[0]) < 2:
        return 0.0
    if len(rows) == 1:
        return 0.5  # a header alone: it splits, but nothing confirms it
    return sum(len(row) == len(rows[0]) for row in rows[1:]) / (len(rows) - 1)


def describe(delimiter: str) -> str:
    return f"{delimiter!r}-separated"


def read_delimited(
    data: bytes | Path,
    source: str,
    delimiter: str,
    *,
    skip_bad_rows: bool = False,
    notify: Callable[[str], None] | None = None,
) -> pa.Table:
    """String columns named by the header; see the module docstring for bad rows."""
    header = _header(data, delimiter, source)
    names = [f"f{index}" for index in range(len(header))]
    bad = 0

    def count_bad(_row: object) -> str:
        nonlocal bad
        bad += 1
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(data) if isinstance(data, bytes) else str(data),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=count_bad
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        first = first.replace(str(data), source) if isinstance(data, Path) else first
        raise DataError(f"{source}: cannot read as {describe(delimiter)} text: {first}") from exc
    if table.num_rows == 0 or [table.column(i)[0].as_py() for i in range(len(names))] != header:
        raise DataError(f"{source}: cannot read its header row as {describe(delimiter)} text")
    if bad:
        lines = _bad_lines(data, delimiter, len(header))
        if not skip_bad_rows:
            if lines:
                line, fields = lines[0]
                where = f"line {line} has {fields} fields, the header has {len(header)}"
            else:
                where = f"{bad:,} rows do not have the header's {len(header)} fields"
            raise DataError(
                f"{source}: {where} (read as {describe(delimiter)}); fix it, choose the "
                f"delimiter, or {SKIP_HINT}"
            )
        if notify is not None:
            shown = ", ".join(str(line) for line, _ in lines[:SHOWN_LINES])
            more = f" and {len(lines) - SHOWN_LINES} more" if len(lines) > SHOWN_LINES else ""
            where = f" (lines {shown}{more})" if lines else ""
            notify(
                f"skipped {bad:,} rows of {source} without the header's {len(header)} fields{where}"
            )
    return pa.table(
        {name: table.column(index).slice(1) for index, name in enumerate(header)}
        if len(set(header)) == len(header)
        else _deduplicated(table.slice(1), header)
    )


def _deduplicated(table: pa.Table, header: list[str]) -> pa.Table:
    """A header that repeats a name: the first column of that name is kept (as pyarrow would
    keep both, and ``select_columns`` would drop the second)."""
    seen: dict[str, pa.ChunkedArray] = {}
    for index, name in enumerate(header):
        seen.setdefault(name, table.column(index))
    return pa.table(seen)


def _header(data: bytes | Path, delimiter: str, source: str) -> list[str]:
    with _text(data) as text:
        try:
            header = next(csv.reader(text, delimiter=delimiter), None)
        except csv.Error as exc:
            raise DataError(f"{source}: cannot read its header row: {exc}") from None
    if not header:
        raise DataError(f"{source}: the file is empty; the first row must name the columns")
    return header


def _bad_lines(data: bytes | Path, delimiter: str, fields: int) -> list[tuple[int, int]]:
    """(line where the row starts, its number of fields) of each row without ``fields``."""
    found: list[tuple[int, int]] = []
    with _text(data) as text:
        reader = csv.reader(text, delimiter=delimiter)
        start = 1
        try:
            for row in reader:
                if row and len(row) != fields:
                    found.append((start, len(row)))
                start = reader.line_num + 1
        except csv.Error:
            pass  # a row Python's csv cannot parse: the ones before it are named
    return found


def row_start_lines(data: bytes | Path, delimiter: str) -> list[int]:
    """The line each data row starts on, for the rows ``read_delimited`` keeps (those with the
    header's number of fields), in order; rows with embedded newlines span several lines."""
    found: list[int] = []
    with _text(data) as text:
        reader = csv.reader(text, delimiter=delimiter)
        header = next(reader, None)
        start = reader.line_num + 1
        try:
            for row in reader:
                if row and header is not None and len(row) == len(header):
                    found.append(start)
                start = reader.line_num + 1
        except csv.Error:
            pass  # rows past one Python's csv cannot parse are named by their number
    return found


@contextmanager
def _text(data: bytes | Path) -> Iterator[IO[str]]:
    raw = io.BytesIO(data) if isinstance(data, bytes) else data.open("rb")
    with io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="") as text:
        yield text
