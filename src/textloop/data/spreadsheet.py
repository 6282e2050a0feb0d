"""Reads the first sheet of an ``.xlsx`` workbook, every cell as the text it shows.

The first row that is not empty names the columns. A cell reads as a spreadsheet shows it in
its General format where that loses nothing: text as typed, a whole number without ``.0`` (Excel
stores every number as a float), another number as the shortest text that reads back as the same
float, ``TRUE``/``FALSE``, a date or time in ISO 8601; an empty cell is an empty string, as in a
CSV export of the same sheet. A formula reads as the value it last computed (saved by the
program that wrote the file).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa

from textloop.data.values import value_text
from textloop.errors import DataError


def read_xlsx(data: bytes | Path, source: str) -> tuple[pa.Table, list[int]]:
    """The first sheet as string columns, and the sheet row number of each table row.

    The workbook is opened from its bytes, never by name: an upload is spooled to a file without
    the ``.xlsx`` suffix that openpyxl would otherwise insist on.
    """
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    handle = io.BytesIO(data) if isinstance(data, bytes) else data.open("rb")
    try:
        try:
            workbook = load_workbook(handle, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
            reason = str(exc).replace(str(data), source) if isinstance(data, Path) else exc
            raise DataError(f"{source}: cannot read as an .xlsx workbook: {reason}") from None
        try:
            header, columns, numbers = _cells(workbook.worksheets[0], source)
        finally:
            workbook.close()
    finally:
        handle.close()
    table: dict[str, pa.Array] = {}
    for name, values in zip(header, columns, strict=True):
        table.setdefault(name, pa.array(values, pa.string()))
    return pa.table(table), numbers


def _cells(sheet: Any, source: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, columns and sheet row numbers; empty rows are skipped, before the header too."""
    header: list[str] = []
    columns: list[list[str]] = []
    numbers: list[int] = []
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = [cell_text(cell) for cell in row]
        if not any(cells):
            continue  # an empty row, as CSV readers skip empty lines
        if not header:
            while cells and cells[-1] == "":
                cells.pop()  # cells formatted but empty at the end of the header row
            header, columns = cells, [[] for _ in cells]
            continue
        cells += [""] * (len(header) - len(cells))
        for values, cell in zip(columns, cells, strict=False):
            values.append(cell)
        numbers.append(number)
    if not header:
        raise DataError(f"{source}: the first sheet is empty; its first row must name columns")
    return header, columns, numbers


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()  # a date cell: Excel stores dates as datetimes
    return value_text(value) or ""
