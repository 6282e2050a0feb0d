"""Where scored chunks go: one file written in input order, or a folder of Parquet parts.

Nothing half-written is ever taken for a result. A file is written under a temporary name and
renamed when complete. A folder holds one part per chunk, each renamed into place whole, so the
parts present are exactly the chunks finished: a job that stops part-way resumes from them, and
a folder output is complete when every chunk has its part.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from textloop.errors import DataError

FORMATS = ("parquet", "csv", "jsonl")
SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def output_format(output: Path, explicit: str | None) -> str:
    """``explicit`` if given, else what the output's extension says; a folder holds Parquet."""
    if explicit is not None:
        if explicit not in FORMATS:
            raise DataError(
                f"unknown format {explicit!r}; use one of {', '.join(FORMATS)}", field="format"
            )
        if is_folder(output) and explicit != "parquet":
            raise DataError(
                f"{output}: a folder output holds Parquet parts; name a .{explicit} file",
                field="format",
            )
        return explicit
    if is_folder(output):
        return "parquet"
    found = SUFFIXES.get(output.suffix.lower())
    if found is None:
        raise DataError(
            f"{output}: cannot tell the format from its extension; "
            f"give --format ({', '.join(FORMATS)})",
            field="format",
        )
    return found


def is_folder(output: Path) -> bool:
    """A path without an extension (or an existing folder) names a folder of parts."""
    return output.is_dir() or not output.suffix


def check_output(output: Path) -> None:
    if output.exists() and not (output.is_dir() and not any(output.iterdir())):
        raise DataError(f"{output} already exists; remove it or choose another output")
    if not output.parent.exists():
        raise DataError(f"{output.parent}: no such folder for the output")


class Parts:
    """A folder of ``part-NNNNNN.parquet`` files, one per finished chunk."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, index: int) -> Path:
        return self.folder / f"part-{index:06d}.parquet"

    def write(self, index: int, table: pa.Table) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.path(index)
        temporary = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        pq.write_table(table, temporary)
        os.replace(temporary, final)  # whole or not at all

    def done(self) -> set[int]:
        if not self.folder.exists():
            return set()
        return {int(p.stem.split("-")[1]) for p in self.folder.glob("part-*.parquet")}

    def tables(self, indexes: Iterable[int]) -> Iterable[pa.Table]:
        for index in indexes:
            yield pq.read_table(self.path(index))

    def discard_unfinished(self) -> None:
        for stray in self.folder.glob(".part-*.tmp"):
            stray.unlink(missing_ok=True)


class FileWriter:
    """Writes tables, in the order given, into one file of ``file_format``; ``close`` renames it
    into place, ``abort`` removes what was written."""

    def __init__(self, output: Path, file_format: str) -> None:
        self.output = output
        self.format = file_format
        self.temporary = output.with_name(f".{output.name}.{os.getpid()}.tmp")
        self._handle: Any = None
        self._writer: Any = None

    def write(self, table: pa.Table) -> None:
        if self.format == "parquet":
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.temporary, table.schema)
            self._writer.write_table(table)
        elif self.format == "csv":
            if self._writer is None:
                self._handle = pa.OSFile(str(self.temporary), "wb")
                self._writer = pacsv.CSVWriter(self._handle, table.schema)
            self._writer.write_table(table)
        else:
            if self._handle is None:
                self._handle = self.temporary.open("w", encoding="utf-8")
            for row in table.to_pylist():
                self._handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._handle is not None:
            self._handle.close()
        if not self.temporary.exists():  # an input with no rows still gets its output
            self.temporary.touch()
        os.replace(self.temporary, self.output)

    def abort(self) -> None:
        try:
            if self._writer is not None:
                self._writer.close()
            if self._handle is not None:
                self._handle.close()
        finally:
            self.temporary.unlink(missing_ok=True)


def assemble(parts: Parts, indexes: Iterable[int], output: Path, file_format: str) -> None:
    """The parts, in order, as one file."""
    writer = FileWriter(output, file_format)
    try:
        for table in parts.tables(indexes):
            writer.write(table)
    except BaseException:
        writer.abort()
        raise
    writer.close()
