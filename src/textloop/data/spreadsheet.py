"""Reads the first sheet of an ``.xlsx`` workbook, every cell as the text it shows.

The first row names the columns. A cell reads as a spreadsheet shows it in its General format
where that loses nothing: text as typed, a whole number without ``.0`` (Excel stores every
number as a float), another number as the shortest text that reads back as the same float,
``TRUE``/``FALSE``, a date or time in ISO 8601; an empty cell is an empty string, as in a CSV
export of the same sheet. A formula reads as the value it last computed (saved by the program
that wrote the file).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pyarrow as pa

from textloop.data.values import value_text
from textloop.errors import DataError


def read_xlsx(data: bytes | Path, source: str) -> pa.Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(
            io.BytesIO(data) if isinstance(data, bytes) else data, read_only=True, data_only=True
        )
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise DataError(f"{source}: cannot read as an .xlsx workbook: {exc}") from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [cell_text(cell) for cell in next(rows, ())]
        while header and header[-1] == "":
            header.pop()  # cells formatted but empty at the end of the header row
        if not header:
            raise DataError(f"{source}: the first sheet is empty; its first row must name columns")
        columns: list[list[str]] = [[] for _ in header]
        for row in rows:
            cells = [cell_text(cell) for cell in row]
            if not any(cells):
                continue  # an empty row, as CSV readers skip empty lines
            cells += [""] * (len(header) - len(cells))
            for values, cell in zip(columns, cells, strict=False):
                values.append(cell)
    finally:
        workbook.close()
    table: dict[str, pa.Array] = {}
    for name, values in zip(header, columns, strict=True):
        table.setdefault(name, pa.array(values, pa.string()))
    return pa.table(table)


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
