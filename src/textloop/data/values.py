"""Turns typed values (of Parquet, JSON, a spreadsheet) into text, losing nothing.

Invariant: the text is what the value was, so two different values never become one text and a
value written as text never changes. Integers and decimals are written in full, floats as the
shortest text that reads back as the same float (Python's ``repr``: ``0.1``, ``1e+20``),
booleans as ``true``/``false``, dates and times in ISO 8601; a null stays ``None``. What has no
faithful text (binary that is not UTF-8, lists, structs) raises ``NotText``, which the readers
turn into an error naming the column, or drop when the column is an extra one.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from textloop.errors import DataError


class NotText(DataError, ValueError):
    """A column (or value) that has no faithful text; the message says what it is. Still a
    ``ValueError``, as it was before it joined the hierarchy."""


def column_strings(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The column as a string column, value by value as ``value_text`` would write it."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        decoded = [chunk.dictionary_decode() for chunk in column.chunks]
        return column_strings(pa.chunked_array(decoded, kind.value_type))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        for chunk in column.chunks:  # a Parquet writer may have put any bytes in a string column
            try:
                chunk.validate(full=True)
            except pa.ArrowInvalid:
                raise NotText("is not valid UTF-8 text; save the file as UTF-8") from None
        return column.cast(pa.string())
    if pa.types.is_null(kind):
        return pa.chunked_array([pa.nulls(len(column), pa.string())])
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return pc.cast(column, pa.string())  # exact: every digit, "true"/"false"
    if pa.types.is_float16(kind) or pa.types.is_float32(kind):
        narrow = np.float16 if pa.types.is_float16(kind) else np.float32
        # the shortest text that reads back as the same narrow float: 0.1, not 0.10000000149
        texts = [None if v is None else str(narrow(v)) for v in column.to_pylist()]
        return pa.chunked_array([pa.array(texts, pa.string())])
    if pa.types.is_timestamp(kind) and kind.unit == "ns":
        # Python's datetime stops at microseconds: Arrow writes every digit (ISO 8601, "T")
        as_text = pc.cast(column, pa.string())
        return pa.chunked_array(
            [pc.replace_substring(chunk, " ", "T", max_replacements=1) for chunk in as_text.chunks],
            pa.string(),
        )
    if (
        pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_temporal(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
        or pa.types.is_fixed_size_binary(kind)
    ):
        texts = [value_text(value) for value in column.to_pylist()]
        return pa.chunked_array([pa.array(texts, pa.string())])
    raise NotText(f"of type {kind} is not text")


def value_text(value: object) -> str | None:
    """One value as text; see the module docstring for each type."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        raise NotText("is a duration, not text")
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise NotText("is not valid UTF-8 text; save the file as UTF-8") from None
    raise NotText(f"holds {type(value).__name__} values, not text")
