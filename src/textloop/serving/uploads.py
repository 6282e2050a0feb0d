"""A request body streamed into a temporary file, never held whole in memory.

The bytes reach the file in blocks of about a megabyte, written off the event loop; on the way a
text file is checked as UTF-8 (``data.encoding``: a bad byte is refused at once with a 422 that
names its line), or, when its Content-Type names another ``charset`` (a text encoding, else 415:
``upload_encoding``), transcoded into UTF-8 within a limit on what it may decode to; and the
bytes as sent can be hashed (for ``Idempotency-Key``). Their number is limited
by ``limits`` before the route reads any; the file is deleted when the ``with`` block ends,
however it ends (a refused or cut-off body included).
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from textloop.data.encoding import (
    BLOCK_BYTES,
    TEXT_FORMATS,
    InvalidUtf8,
    LineTooLong,
    Transcoder,
    Utf8Check,
    file_error,
    text_check,
    text_encoding,
)
from textloop.errors import DataError

PREFIX = "upload-"  # every upload file's name starts so (``housekeeping`` finds the stale ones)


def upload_folder(data_dir: Path) -> Path:
    """Where every route spools its uploads."""
    return data_dir / "tmp"


def upload_encoding(content_type: str, file_format: str) -> str | None:
    """The text encoding a text upload's ``charset`` names, None for UTF-8 (or none named, or a
    binary format, where a charset means nothing); ``UnsupportedEncoding`` (415) for a name that
    is not a text encoding."""
    charset = None
    for parameter in content_type.split(";")[1:]:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"') or None
    if charset is None or file_format not in TEXT_FORMATS:
        return None
    encoding = text_encoding(charset, f"charset {charset!r}")
    return None if encoding == "utf-8" else encoding


@asynccontextmanager
async def spooled(
    request: Request,
    directory: Path,
    source: str,
    *,
    file_format: str,
    decoded_limit: int,
    digest: Callable[[bytes | bytearray], object] | None = None,
) -> AsyncIterator[Path]:
    """The body as a file in ``directory``: a text format is checked as it arrives (UTF-8,
    bounded lines: ``data.encoding.text_check``), after being transcoded into UTF-8, within
    ``decoded_limit`` bytes, when the Content-Type names another ``charset``. ``digest`` is fed
    every byte as sent."""
    encoding = upload_encoding(request.headers.get("content-type", ""), file_format)
    transcoder = Transcoder(encoding, source, decoded_limit) if encoding is not None else None
    directory.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=directory, prefix=PREFIX)
    path = Path(name)
    try:
        with open(descriptor, "wb") as handle:
            sink = Sink(handle, source, transcoder, text_check(file_format), digest)
            block = bytearray()
            async for chunk in request.stream():
                block += chunk
                if len(block) >= BLOCK_BYTES:
                    await run_in_threadpool(sink.write, block)
                    block = bytearray()
            await run_in_threadpool(sink.write, block, True)
        yield path
    finally:
        path.unlink(missing_ok=True)


class Sink:
    def __init__(
        self,
        handle: IO[bytes],
        source: str,
        transcoder: Transcoder | None,
        check: Utf8Check | None,
        digest: Callable[[bytes | bytearray], object] | None,
    ) -> None:
        self.handle = handle
        self.source = source
        self.transcoder = transcoder
        self.check = check
        self.digest = digest

    def write(self, data: bytes | bytearray, final: bool = False) -> None:
        if self.digest is not None:
            self.digest(data)
        text = self.transcoder.feed(bytes(data), final) if self.transcoder else bytes(data)
        if self.check is not None:
            try:
                self.check.feed(text, final)
            except InvalidUtf8 as problem:
                raise file_error(self.source, problem) from None
            except LineTooLong as problem:
                raise DataError(f"{self.source}: {problem}") from None
        self.handle.write(text)
