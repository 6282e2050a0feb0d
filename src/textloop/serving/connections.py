"""What one connection may cost the server before the app sees a request.

uvicorn (0.54) bounds none of it by default: httptools reads a request head of any size, a
connection that never finishes its head is kept forever (its keep-alive timer only runs after a
response, and every byte received restarts it), and ``limit_concurrency`` is checked only once a
head has arrived, so idle connections hold their file descriptors whatever the limit. The server
therefore speaks HTTP/1.1 through h11, whose receive buffer has a limit, in ``GuardedH11``:

- a request head over ``max_header_bytes`` is answered 431 and the connection closed, having
  buffered at most that much and one read more;
- a head must arrive whole within ``header_timeout`` seconds of its connection (or of its first
  byte, on a kept-alive connection), however slowly it trickles, or the connection is closed;
- beyond ``max_connections`` open connections (in each server process), a new one is answered
  503 at once and closed, so that descriptors stay free for the database and model files.

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

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from textloop.serving.errors import error_body

log = logging.getLogger("textloop.serving")
REFUSED_GRACE = 1.0  # seconds a refused connection stays open for its 503 to leave
REFUSALS_LOGGED_EVERY = 60.0


@dataclass(frozen=True)
class ConnectionLimits:
    max_header_bytes: int
    header_timeout: float
    max_connections: int

    def uvicorn_options(self) -> dict[str, Any]:
        """uvicorn's ``http`` and the h11 buffer limit: the protocol built with these limits."""
        return {
            "http": functools.partial(GuardedH11, limits=self),
            "h11_max_incomplete_event_size": self.max_header_bytes,
        }


class _Connection(h11.Connection):
    """h11's connection, keeping the status its refusal of a request suggests (431, 400)."""

    refusal_status = 400

    def next_event(self) -> Any:
        try:
            return super().next_event()
        except h11.RemoteProtocolError as refused:
            self.refusal_status = refused.error_status_hint
            raise


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with a bounded head, a head timeout and a connection cap."""

    last_refusal_logged = float("-inf")  # one warning a minute, however many are refused

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.conn = _Connection(h11.SERVER, limits.max_header_bytes)
        self.head_timer: asyncio.TimerHandle | None = None
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
        super().data_received(data)
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._await_head()
        else:
            self._head_arrived()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_arrived()
        if not self.refused:
            super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        status = self.conn.refusal_status if isinstance(self.conn, _Connection) else 400
        if status == 431:
            msg = f"the request head is over {self.limits.max_header_bytes:,} bytes"
        body = json.dumps(error_body("invalid_request", msg)).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(body)),
            (b"connection", b"close"),
        ]
        response = h11.Response(status_code=status, headers=headers)
        for event in (response, h11.Data(data=body), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event) or b"")
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
        if now - GuardedH11.last_refusal_logged >= REFUSALS_LOGGED_EVERY:
            GuardedH11.last_refusal_logged = now
            log.warning(
                "refusing connections: %d are open (max_connections)", len(self.connections)
            )
        message = (
            f"the server has {self.limits.max_connections:,} connections open, its limit; "
            "retry shortly"
        )
        body = json.dumps(error_body("unavailable", message)).encode()
        head = (
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
            b"retry-after: 1\r\nconnection: close\r\ncontent-length: %d\r\n\r\n" % len(body)
        )
        transport.write(head + body)
        if transport.can_write_eof():
            transport.write_eof()
        self.transport = transport
        self.head_timer = self.loop.call_later(REFUSED_GRACE, transport.close)
