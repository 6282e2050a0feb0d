"""Reads the first sheet of an ``.xlsx`` workbook, every cell as the text it shows.

The first row that is not empty names the columns. A cell reads as a spreadsheet shows it in
its General format where that loses nothing: text as typed, a whole number without ``.0`` (Excel
stores every number as a float), another number as the shortest text that reads back as the same
float, ``TRUE``/``FALSE``, a date or time in ISO 8601; an empty cell is an empty string, as in a
CSV export of the same sheet. A formula reads as the value it last computed (saved by the
program that wrote the file).

A workbook is a zip of XML and can be small and decode huge, so it is read within limits: one
whose parts declare more than ``XML_PER_VALUE_BYTE`` times ``max_bytes`` uncompressed is refused
from the zip's directory before it is opened (``zipfile`` inflates no part past its declared
size), and while the sheet is read its rows (empty ones included) count against ``max_rows`` and
its cells' characters (one more per cell and per row, as in a CSV export) against ``max_bytes``.
The sheet's declared dimension is ignored: a row is as wide as its own cells.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa

from textloop.data.values import value_text
from textloop.errors import DataError, DataTooLarge

XML_PER_VALUE_BYTE = 4  # a cell's XML (<c r="B7" t="s"><v>12</v></c>) is several times its value


def read_xlsx(
    data: bytes | Path, source: str, max_rows: int, max_bytes: int
) -> tuple[pa.Table, list[int]]:
    """The first sheet as string columns, and the sheet row number of each table row.

    The workbook is opened from its bytes, never by name: an upload is spooled to a file without
    the ``.xlsx`` suffix that openpyxl would otherwise insist on.
    """
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    handle = io.BytesIO(data) if isinstance(data, bytes) else data.open("rb")
    try:
        try:
            _check_declared_size(handle, source, max_bytes)
            workbook = load_workbook(handle, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
            reason = str(exc).replace(str(data), source) if isinstance(data, Path) else exc
            raise DataError(f"{source}: cannot read as an .xlsx workbook: {reason}") from None
        try:
            sheet = workbook.worksheets[0]
            sheet.reset_dimensions()  # a declared A1:XFD1048576 would pad every row to 16,384
            header, columns, numbers = _cells(sheet, source, max_rows, max_bytes)
        finally:
            workbook.close()
    finally:
        handle.close()
    table: dict[str, pa.Array] = {}
    for name, values in zip(header, columns, strict=True):
        table.setdefault(name, pa.array(values, pa.string()))
    return pa.table(table), numbers


def _check_declared_size(handle: Any, source: str, max_bytes: int) -> None:
    """Refuse a workbook whose parts say they inflate past the limit, before opening it."""
    with zipfile.ZipFile(handle) as archive:
        declared = sum(part.file_size for part in archive.infolist())
    handle.seek(0)
    if declared > XML_PER_VALUE_BYTE * max_bytes:
        raise DataTooLarge(
            f"{source}: the workbook inflates to {declared:,} bytes; the limit is "
            f"{XML_PER_VALUE_BYTE * max_bytes:,} ({XML_PER_VALUE_BYTE} times {max_bytes:,} bytes "
            "of values)"
        )


def _cells(
    sheet: Any, source: str, max_rows: int, max_bytes: int
) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, columns and sheet row numbers; empty rows are skipped, before the header too."""
    header: list[str] = []
    columns: list[list[str]] = []
    numbers: list[int] = []
    size = 0
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        if number > max_rows + 1:  # the header's row and max_rows more
            raise DataTooLarge(f"{source}: more than {max_rows:,} rows, the limit")
        cells = [cell_text(cell) for cell in row]
        size += sum(map(len, cells)) + len(cells) + 1
        if size > max_bytes:
            raise DataTooLarge(
                f"{source}: the cells of the first {number:,} rows hold more than "
                f"{max_bytes:,} characters, the limit; split the sheet or shorten its texts"
            )
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
