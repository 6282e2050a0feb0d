"""What one connection may cost the server before the app sees a request.

uvicorn (0.54) bounds none of it by default: httptools reads a request head of any size, a
connection that never finishes its head is kept forever (its keep-alive timer only runs after a
response, and every byte received restarts it), and ``limit_concurrency`` is checked only once a
head has arrived, so idle connections hold their file descriptors whatever the limit. The server
therefore speaks HTTP/1.1 through ``GuardedHttpTools``, uvicorn's httptools protocol (its C
parser costs a request about a third of what h11 does) with:

- a request head that is still unfinished after ``max_header_bytes`` more bytes than the read it
  began in answered 431 and the connection closed, having buffered at most that much and two
  reads more (a whole head that arrives in one read, up to uvloop's 256 KiB, is taken as is);
  a pipelined head is refused after the answer to the request before it;
- a head that must arrive whole within ``header_timeout`` seconds of its connection (or of its
  first byte, or of any byte that begins no request, on a kept-alive connection), however slowly
  it trickles, or the connection is closed;
- beyond ``max_connections`` open connections (in each server process), a new one answered 503
  at once and closed, so that descriptors stay free for the database and model files.

A body is bounded by size (``limits``) but not timed by the server: a reverse proxy in front
should time it (see docs/deployment.md).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from textloop.serving.errors import error_body

log = logging.getLogger(__name__)
REFUSED_GRACE = 1.0  # seconds a refused connection stays open for its 503 to leave
REFUSALS_LOGGED_EVERY = 60.0
REASONS = {
    400: b"Bad Request",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}


@dataclass(frozen=True)
class ConnectionLimits:
    max_header_bytes: int
    header_timeout: float
    max_connections: int

    def uvicorn_options(self) -> dict[str, Any]:
        """uvicorn's ``http``: the protocol built with these limits."""
        return {"http": functools.partial(GuardedHttpTools, limits=self)}


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bounded head, a head timeout and a connection cap."""

    last_refusal_logged = float("-inf")  # one warning a minute, however many are refused

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.head_timer: asyncio.TimerHandle | None = None
        self.head_bytes: int | None = None  # of a head begun and not finished; None between
        self.head_began_here = False  # in the read being parsed
        self.refuse_after_response = False
        self.refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self.refused = True
            self._refuse(transport)
            return
        super().connection_made(transport)
        self._await_head()

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return  # the request of a refused connection is read and dropped
        self.head_began_here = False
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self.head_bytes is not None:
            # the read a head begins in may also hold the end of the request before it, so
            # it is not counted: a head is refused once the reads after it pass the limit
            if not self.head_began_here:
                self.head_bytes += len(data)
            if self.head_bytes > self.limits.max_header_bytes:
                self._refuse_head()
        elif self._between_requests():
            self._await_head()  # bytes that begin no request (a stray CRLF) are timed too

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_bytes = 0
        self.head_began_here = True
        self._await_head()

    def on_headers_complete(self) -> None:
        self.head_bytes = None
        self._head_arrived()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        if self.refuse_after_response:
            self._answer_and_close(431, self._too_large())
            return
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_arrived()
        if not self.refused:
            super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        self._answer_and_close(400, "the request is not valid HTTP/1.1")

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _refuse_head(self) -> None:
        """431 and close; after the answer to the request before it, if that is still being
        given (a pipelined head), reading nothing more meanwhile."""
        self.head_bytes = None
        if self._between_requests():
            self._answer_and_close(431, self._too_large())
        else:
            self.refuse_after_response = True
            self.flow.pause_reading()

    def _too_large(self) -> str:
        return f"the request head is over {self.limits.max_header_bytes:,} bytes"

    def _answer_and_close(self, status: int, message: str) -> None:
        self.head_bytes = None
        self._head_arrived()
        self.transport.write(_refusal(status, "invalid_request", message))
        self.transport.close()

    def _await_head(self) -> None:
        """Start the head's clock unless it runs already: more bytes do not restart it."""
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.limits.header_timeout, self._head_late)

    def _head_arrived(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_late(self) -> None:
        self.head_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _refuse(self, transport: asyncio.Transport) -> None:
        """503 and close within ``REFUSED_GRACE``: a refused connection holds its descriptor
        only long enough for the answer to leave, however many are refused."""
        now = self.loop.time()
        if now - GuardedHttpTools.last_refusal_logged >= REFUSALS_LOGGED_EVERY:
            GuardedHttpTools.last_refusal_logged = now
            log.warning(
                "refusing connections: %d are open (max_connections)", len(self.connections)
            )
        message = (
            f"the server has {self.limits.max_connections:,} connections open, its limit; "
            "retry shortly"
        )
        transport.write(_refusal(503, "unavailable", message, retry_after=True))
        if transport.can_write_eof():
            transport.write_eof()
        self.transport = transport
        self.head_timer = self.loop.call_later(REFUSED_GRACE, transport.close)


def _refusal(status: int, code: str, message: str, retry_after: bool = False) -> bytes:
    """A whole HTTP/1.1 answer with the API's error body, written before any app runs."""
    body = json.dumps(error_body(code, message)).encode()
    head = [
        b"HTTP/1.1 %d %s" % (status, REASONS[status]),
        b"content-type: application/json",
        *([b"retry-after: 1"] if retry_after else []),
        b"connection: close",
        b"content-length: %d" % len(body),
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body
