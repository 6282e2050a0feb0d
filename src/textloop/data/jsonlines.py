"""Reads JSON Lines keeping every value as it was written.

A number keeps the text of its token (``007`` cannot occur, but ``1.0`` stays ``1.0`` beside
``1``, ``1e3`` stays ``1e3`` and an 18-digit id keeps every digit), because a type guessed per
column would turn ``1.0`` into ``1`` or a long id into a float. ``true``/``false`` become those
words, ``null`` and a missing key become None. A column holding an array or an object has no
text: it is reported as unreadable, and the reader drops it or refuses it by its role, its
arrays left unread (a column whose every value is an array of single values is also reported as
one of lists, for a single-label read to say how its labels could be read). Only the column the
caller names (``list_column``: the label column of a multi-label read) is read as lists: when
its every value is an array of single values (or null) it is a list column (``list<string>``,
each item as its text), which the read takes as label sets (``label_columns``); when it mixes
arrays and single values it is unreadable, naming a line of each.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from textloop.data.encoding import MAX_LINE, LineTooLong
from textloop.data.storable import unstorable
from textloop.data.values import NotText, value_text
from textloop.errors import DataError


def read_jsonl(
    data: bytes | Path, source: str, list_column: str | None = None
) -> tuple[pa.Table, dict[str, str], frozenset[str]]:
    """The file as string columns, in the order keys first appear, the unreadable ones, and the
    columns of arrays of single values left unread: every one but ``list_column``."""
    columns: dict[str, list[Any]] = {}
    unreadable: dict[str, str] = {}
    arrays: dict[str, int] = {}  # the first line with an array of single values
    others: dict[str, int] = {}  # the first line with any other value but null
    for rows, (number, record) in enumerate(json_lines(data, source)):  # rows before this one
        if not isinstance(record, dict):
            raise DataError(f"{source}: line {number}: expected a JSON object, one per line")
        for key, value in record.items():
            values = columns.setdefault(key, [None] * rows)
            if value is not None:
                flat = isinstance(value, list) and not any(_nested(item) for item in value)
                (arrays if flat else others).setdefault(key, number)
            try:
                cell = _cell(value, listed=key == list_column)
            except NotText:
                unreadable.setdefault(key, "holds arrays or objects, not text")
                cell = None
            for text in cell if isinstance(cell, list) else [cell]:
                problem = unstorable(text) if text else None
                if problem is not None:  # an escaped lone surrogate ("\ud800"): no text holds it
                    raise DataError(f"{source}: line {number}: {key!r} {problem}")
            values.append(cell)
        for values in columns.values():
            if len(values) <= rows:
                values.append(None)
    lists = {key for key in arrays if key not in others}
    table: dict[str, pa.Array] = {}
    for key, values in columns.items():
        if key == list_column and key in arrays and key in others and key not in unreadable:
            unreadable[key] = (
                f"mixes arrays (line {arrays[key]}) and single values (line {others[key]}); "
                "write every row's labels as an array, or none"
            )
        listed = key == list_column and key in lists and key not in unreadable
        if key == list_column and not listed:
            values = [None if isinstance(value, list) else value for value in values]
        table[key] = pa.array(values, pa.list_(pa.string()) if listed else pa.string())
    return pa.table(table), unreadable, frozenset(lists - {list_column})


def _cell(value: Any, listed: bool) -> str | list[str | None] | None:
    """A value as text or, in a column read as lists, an array of single values as their
    texts (``NotText`` for any other array or object)."""
    if listed and isinstance(value, list):
        return [value_text(item) for item in value]
    return value_text(value)


def _nested(value: Any) -> bool:
    return isinstance(value, list | dict)


def parse_json(text: str, source: str, first_line: int = 1) -> Any:
    """One JSON value with every number kept as the text of its token; ``DataError`` naming
    the line (counted from ``first_line``) and column of a syntax error."""
    try:
        return json.loads(text, parse_int=str, parse_float=str, parse_constant=str)
    except json.JSONDecodeError as exc:
        line = first_line + exc.lineno - 1
        raise DataError(
            f"{source}: line {line}: not valid JSON: {exc.msg} (column {exc.colno})"
        ) from None


def json_lines(data: bytes | Path, source: str) -> Iterator[tuple[int, Any]]:
    """Each non-blank line's value, with its line number."""
    for number, line in _lines(data, source):
        if line.strip():
            yield number, parse_json(line, source, number)


def row_lines(data: bytes | Path) -> list[int]:
    """The line of each record (blank lines hold none), in the order ``read_jsonl`` reads them."""
    return [number for number, line in _lines(data) if line.strip()]


def _lines(data: bytes | Path, source: str = "") -> Iterator[tuple[int, str]]:
    """Numbered lines of UTF-8 text (a byte order mark is skipped), none held past
    ``MAX_LINE`` characters: a longer one is refused (``LineTooLong``) as it is read."""
    raw = io.BytesIO(data) if isinstance(data, bytes) else data.open("rb")
    with io.TextIOWrapper(raw, encoding="utf-8-sig") as text:
        for number, line in enumerate(iter(lambda: text.readline(MAX_LINE + 1), ""), start=1):
            if len(line.rstrip("\r\n")) > MAX_LINE:
                raise DataError(f"{source}: {LineTooLong(number, MAX_LINE)}")
            yield number, line
