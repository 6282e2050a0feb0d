"""A real HTTP server on a loopback port that records the webhook requests it gets."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """A real HTTP server on a loopback port that records requests and answers as told."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []  # the POSTs
        self.requests: list[str] = []  # every request, of any method: "GET /hook"
        self.answers: list[int] = []
        self.location: str | None = None  # sent with every answer when set (a redirect)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.requests.append(f"POST {self.path}")
                payload = self.rfile.read(int(self.headers["Content-Length"]))
                code = receiver.answers.pop(0) if receiver.answers else 200
                receiver.received.append((dict(self.headers), payload))
                self.answer(code)

            def do_GET(self) -> None:
                receiver.requests.append(f"GET {self.path}")
                self.answer(receiver.answers.pop(0) if receiver.answers else 200)

            def answer(self, code: int) -> None:
                self.send_response(code)
                if receiver.location is not None:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[Receiver]:
        receiver = cls()
        try:
            yield receiver
        finally:
            receiver.server.shutdown()
            receiver.server.server_close()

    def events(self, secret: str) -> list[dict[str, Any]]:
        """The bodies received so far, each checked against its signature."""
        bodies = []
        for headers, payload in list(self.received):
            expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
            assert headers["X-Textloop-Signature"] == f"sha256={expected}"
            bodies.append(json.loads(payload))
        return bodies
