"""Everything an upload route shares: which file format its Content-Type names, the body streamed
into a temporary file (never held whole in memory), and its ``Idempotency-Key``.

``upload_format`` is each route's first check: the media type must name a format the route
takes, else 415 listing those it does (one table, ``FORMATS``, so that the same file is the
same format at every door). ``spooled`` then writes the bytes to a file in blocks of about a
megabyte, off the event loop; on the way a text file is checked as UTF-8 (``data.encoding``: a
bad byte is refused at once with a 422 that names its line), or, when its Content-Type names
another ``charset`` (a text encoding, else 415: ``upload_encoding``), transcoded into UTF-8
within a limit on what it may decode to; and the bytes as sent can be hashed (for
``IdempotentUpload``). Their number is limited by ``limits`` before the route reads any; the
file is deleted when the ``with`` block ends, however it ends (a refused or cut-off body
included).
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import IO

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

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
from textloop.errors import DataError, UnsupportedMediaType
from textloop.serving import idempotency
from textloop.serving.content_type import HEADER, media_type, parameter
from textloop.store.database import Store

PREFIX = "upload-"  # every upload file's name starts so (``housekeeping`` finds the stale ones)

FORMATS = {  # the file format each upload media type names, at every upload route
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    # a Label Studio or Argilla export, or JSON Lines: told apart by the first record
    "application/json": "json",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
# The formats the batch reader (``batch.sources``) reads, under the extension it tells each by:
# a batch input or a corrections file is saved under a name ending so, and only these formats
# are taken there.
SUFFIXES = {"csv": ".csv", "tsv": ".tsv", "jsonl": ".jsonl", "parquet": ".parquet"}
# The media type a file of each format is answered with: the first ``FORMATS`` names it by
# (read backwards, so that the first one is written last).
MEDIA_TYPES = {file_format: media for media, file_format in reversed(FORMATS.items())}


def upload_folder(data_dir: Path) -> Path:
    """Where every route spools its uploads."""
    return data_dir / "tmp"


def upload_format(
    headers: Mapping[str, str], accepted: Collection[str] | None = None, otherwise: str = ""
) -> str:
    """The file format the Content-Type names, when it is one of ``accepted`` (by default every
    format in ``FORMATS``); else ``UnsupportedMediaType`` (415) listing the media types that would
    do, and ``otherwise`` (another kind of body the route takes), so the client can fix it."""
    given = media_type(headers)
    file_format = FORMATS.get(given)
    if file_format is not None and (accepted is None or file_format in accepted):
        return file_format
    known = ", ".join(m for m, f in FORMATS.items() if accepted is None or f in accepted)
    raise UnsupportedMediaType(
        f"unsupported Content-Type {given or '(none)'!r}; use one of {known}"
        + (f", or {otherwise}" if otherwise else ""),
        field=HEADER,
    )


def file_media_type(path: Path) -> str:
    """The media type to send a file saved under a name from ``SUFFIXES`` with (a batch job's
    output); Parquet for any other name (``.pq``), the one other format written."""
    by_suffix = {suffix: file_format for file_format, suffix in SUFFIXES.items()}
    return MEDIA_TYPES[by_suffix.get(path.suffix, "parquet")]


def upload_encoding(headers: Mapping[str, str], file_format: str) -> str | None:
    """The text encoding a text upload's ``charset`` names, None for UTF-8 (or none named, or a
    binary format, where a charset means nothing); ``UnsupportedEncoding`` (415) for a name that
    is not a text encoding."""
    charset = parameter(headers, "charset")
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
    encoding = upload_encoding(request.headers, file_format)
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


class IdempotentUpload:
    """An upload's ``Idempotency-Key`` (see ``idempotency``), from the header to the stored answer.

    Made once the Content-Type is accepted: a malformed key is refused (422) before a byte of the
    body is read. ``feed`` goes to ``spooled`` as its ``digest``, so the hash covers the body as
    sent; ``replay`` claims the key once the whole body is in, and answers the first request's
    answer when there is one. Used as ``async with`` around the work, the claim is released when
    the block fails (a refused upload changes nothing and may be sent again); ``finish``, after
    the block, stores the answer. Once the block is through the claim is never released, even if
    storing fails: the work is done, and a resend must not run it twice. Without a key every step
    does nothing.
    """

    def __init__(self, request: Request, store: Store, api_key_id: int, key: str | None) -> None:
        self.store = store
        self.api_key_id = api_key_id
        self.key = idempotency.checked_key(key)
        self.digest = idempotency.request_digest(request) if self.key is not None else None
        self.held: idempotency.Claim | None = None

    @property
    def feed(self) -> Callable[[bytes | bytearray], object] | None:
        """What ``spooled`` hands the bytes as sent; None without a key (nothing to hash)."""
        return self.digest.update if self.digest is not None else None

    async def replay(self) -> Response | None:
        """The first request's answer (marked ``Idempotent-Replayed``) when this one repeats it;
        None when this request now holds the key (or has none) and is to do the work. Called
        after the body is read: the hash must cover all of it."""
        if self.key is None or self.digest is None:
            return None
        earlier = await run_in_threadpool(
            idempotency.claim, self.store, self.api_key_id, self.key, self.digest.hexdigest()
        )
        if isinstance(earlier, idempotency.Answer):
            return JSONResponse(
                earlier.body, earlier.status, headers={idempotency.REPLAYED: "true"}
            )
        self.held = earlier
        return None

    async def finish(self, status: int, answer: BaseModel) -> None:
        """Keep ``answer`` for the resends."""
        held, self.held = self.held, None
        if held is not None:
            stored = idempotency.Answer(status, answer.model_dump(mode="json"))
            await run_in_threadpool(idempotency.finish, self.store, held, stored)

    async def __aenter__(self) -> IdempotentUpload:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is not None and self.held is not None:
            held, self.held = self.held, None
            await run_in_threadpool(idempotency.release, self.store, held)
