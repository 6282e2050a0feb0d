"""A request body streamed into a temporary file, never held whole in memory.

The bytes reach the file in blocks of about a megabyte, written off the event loop; on the way a
text file is checked as UTF-8 (``data.encoding``: a bad byte is refused at once with a 422 that
names its line) and the bytes can be hashed (for ``Idempotency-Key``). Their number is limited
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

from textloop.data.encoding import BLOCK_BYTES, InvalidUtf8, Utf8Check, file_error

PREFIX = "upload-"  # every upload file's name starts so (``housekeeping`` finds the stale ones)


def upload_folder(data_dir: Path) -> Path:
    """Where every route spools its uploads."""
    return data_dir / "tmp"


@asynccontextmanager
async def spooled(
    request: Request,
    directory: Path,
    source: str,
    *,
    utf8: bool,
    digest: Callable[[bytes | bytearray], object] | None = None,
) -> AsyncIterator[Path]:
    """The body as a file in ``directory``; ``utf8`` checks it, ``digest`` is fed every byte."""
    directory.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=directory, prefix=PREFIX)
    path = Path(name)
    try:
        with open(descriptor, "wb") as handle:
            sink = Sink(handle, source, Utf8Check() if utf8 else None, digest)
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
        utf8: Utf8Check | None,
        digest: Callable[[bytes | bytearray], object] | None,
    ) -> None:
        self.handle = handle
        self.source = source
        self.utf8 = utf8
        self.digest = digest

    def write(self, data: bytes | bytearray, final: bool = False) -> None:
        if self.utf8 is not None:
            try:
                self.utf8.feed(bytes(data), final)
            except InvalidUtf8 as problem:
                raise file_error(self.source, problem) from None
        if self.digest is not None:
            self.digest(data)
        self.handle.write(data)
