"""The least HTTP/1.1 a load generator needs: one request encoded up front, one response read.

The load generator shares a small machine with the server it measures, so each request must cost
the client as little CPU as possible: requests are encoded once per text and replayed as bytes,
and a response is read as a status line, headers and a ``Content-Length`` (or chunked) body,
nothing more. A general client such as httpx spends several times that per request.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from urllib.parse import quote


class ProtocolError(Exception):
    """The server sent something that is not an HTTP/1.1 response this reader understands."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # names lower-cased; a repeated header keeps its last value
    body: bytes

    @property
    def keeps_alive(self) -> bool:
        return "close" not in self.headers.get("connection", "").lower()


def classify_request(host: str, name: str, api_key: str, text: str) -> bytes:
    """``POST /v1/classifiers/{name}/classify`` with ``{"text": text}``, ready to write."""
    body = json.dumps({"text": text}).encode("utf-8")
    head = (
        f"POST /v1/classifiers/{quote(name, safe='')}/classify HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        f"X-API-Key: {api_key}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


async def read_response(reader: asyncio.StreamReader) -> Response:
    """Read one whole response; ``asyncio.IncompleteReadError`` if the connection closes first."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    headers = {}
    for line in header_lines:
        name, separator, value = line.partition(":")
        if not separator:
            raise ProtocolError(f"malformed header line: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        length = headers["content-length"]
        if not length.isdigit():
            raise ProtocolError(f"bad Content-Length {length!r}")
        body = await reader.readexactly(int(length))
    elif "close" in headers.get("connection", "").lower():
        body = await reader.read()  # the body runs to the end of the connection
    else:
        body = b""  # no length and the connection stays open: a response without a body
    return Response(int(parts[1]), headers, body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size_line = (await reader.readuntil(b"\r\n"))[:-2].split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size {size_line[:20]!r}") from None
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, if any
                pass
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise ProtocolError("chunk not followed by CRLF")
