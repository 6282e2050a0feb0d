"""Files sent and received: an upload's body and ``Content-Type``, and a download's file.

An upload given as a path is read from its start at every attempt, in chunks, never whole into
memory, with its ``Content-Length`` set so the server can refuse one over its limit before
reading it. A download is written to a temporary file beside its destination and renamed into
place when complete, so a broken transfer never leaves a partial file under the name asked for.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

CHUNK = 1 << 16
# The Content-Type the API expects for each kind of file, by the file's suffix.
CONTENT_TYPES = {
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".tab": "text/tab-separated-values",
    ".jsonl": "application/x-ndjson",
    ".ndjson": "application/x-ndjson",
    ".json": "application/json",  # a Label Studio or Argilla export
    ".parquet": "application/vnd.apache.parquet",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

FileInput = str | os.PathLike[str] | bytes  # a file's path, or its bytes


def body_of(file: FileInput, content_type: str | None) -> tuple[bytes | Path, str]:
    """The body to send for ``file`` and its Content-Type: the one given, else the one its
    suffix names (bytes have no suffix: give ``content_type``)."""
    if isinstance(file, bytes):
        if content_type is None:
            raise ValueError("give content_type for a body given as bytes (e.g. 'text/csv')")
        return file, content_type
    path = Path(file)
    chosen = content_type or CONTENT_TYPES.get(path.suffix.lower())
    if chosen is None:
        known = ", ".join(CONTENT_TYPES)
        raise ValueError(f"cannot tell the type of {path.name}: give content_type, or use {known}")
    return path, chosen


def chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


async def async_chunks(path: Path) -> AsyncIterator[bytes]:
    """``chunks`` for the async client; local reads of 64 KiB are short enough not to hand to a
    thread."""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def partial_path(destination: Path) -> Path:
    return destination.with_name(f".{destination.name}.part")


def finish_download(partial: Path, destination: Path) -> Path:
    os.replace(partial, destination)
    return destination
