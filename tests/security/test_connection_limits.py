"""``textloop serve`` bounds what a connection costs before a request reaches the app: an
oversized request head is refused (431) without being buffered, a head that does not arrive
whole in time closes its connection, and connections over the cap are answered 503, so that
idle or slow clients cannot exhaust the server. A real server process on a loopback port;
SQLite only: none of this touches the database."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.processes import environment, running_server

HEAD_LIMIT = 16 * 1024
CAP = 4
HUGE = 32 * 1024 * 1024  # the probe's x-api-key header


@contextmanager
def server(tmp_path: Path, **settings: str) -> Iterator[tuple[str, int]]:
    """A server with these ``TEXTLOOP_*`` settings: its address and its process id."""
    env = environment(tmp_path / "data", f"sqlite:///{tmp_path / 'textloop.db'}")
    env.update({f"TEXTLOOP_{name.upper()}": value for name, value in settings.items()})
    with running_server(env, tmp_path / "server.log") as base:
        port = urlsplit(base).port
        assert port is not None
        yield base, serving_process(port)


def serving_process(port: int) -> int:
    """The id of this test's child process serving on ``port``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"serve" in command and str(port).encode() in command:
            return int(entry.name)
    raise AssertionError(f"no server process on port {port}")


def peak_memory(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def connect(base: str) -> socket.socket:
    address = urlsplit(base)
    assert address.hostname is not None and address.port is not None
    sock = socket.create_connection((address.hostname, address.port), timeout=30)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """What the server sends until it closes the connection (or resets it)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def closed_by_server(sock: socket.socket, trickle: bytes = b"") -> bool:
    """Whether the server closes the connection while ``trickle`` is sent a byte at a time,
    one every 0.2 s (or nothing is sent), within 150 rounds."""
    sock.settimeout(0.2)
    for index in range(150):
        try:
            if trickle:
                sock.sendall(trickle[index % len(trickle) : index % len(trickle) + 1])
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            return True
    return False


def test_an_oversized_request_head_is_refused_without_being_buffered(tmp_path: Path) -> None:
    with server(tmp_path, max_header_bytes=str(HEAD_LIMIT)) as (base, pid):
        assert httpx.get(f"{base}/healthz", headers={"x-api-key": "k" * 8000}).status_code == 200
        before = peak_memory(pid)
        with closing(connect(base)) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: test\r\nx-api-key: ")
            sent, chunk = 0, b"k" * 65536
            try:
                while sent < HUGE:
                    sock.sendall(chunk)
                    sent += len(chunk)
                sock.sendall(b"\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            answer = read_all(sock)
        assert answer.startswith(b"HTTP/1.1 431") or sent < HUGE, answer[:200]
        if answer:
            assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
            assert b"the request head is over 16,384 bytes" in answer
        assert peak_memory(pid) - before < HUGE // 4
        assert httpx.get(f"{base}/healthz").status_code == 200


def test_a_head_that_does_not_arrive_in_time_closes_its_connection(tmp_path: Path) -> None:
    with server(tmp_path, header_timeout="1") as (base, _):
        with closing(connect(base)) as idle, closing(connect(base)) as slow:
            slow.sendall(b"GET /healthz HTTP/1.1\r\n")
            assert closed_by_server(slow, trickle=b"x-slow: yes\r\n")  # a byte every 0.2 s
            assert closed_by_server(idle)
        with closing(connect(base)) as stray:  # answered, kept alive, then only line breaks
            stray.sendall(b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n")
            assert closed_by_server(stray, trickle=b"\r\n")
        with closing(connect(base)) as prompt:  # a whole head in time is answered as ever
            prompt.sendall(b"GET /healthz HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
            assert read_all(prompt).startswith(b"HTTP/1.1 200")
        with httpx.Client() as client:  # a kept-alive connection stays open between requests
            assert client.get(f"{base}/healthz").status_code == 200
            time.sleep(1.5)  # longer than header_timeout: the keep-alive timeout applies
            assert client.get(f"{base}/healthz").status_code == 200


def test_connections_over_the_cap_are_answered_503_and_the_server_recovers(tmp_path: Path) -> None:
    with server(tmp_path, max_connections=str(CAP), header_timeout="60") as (base, _):
        holders = [connect(base) for _ in range(CAP)]
        try:
            for holder in holders:
                holder.sendall(b"GET /healthz HTTP/1.1\r\n")  # heads never finished
            with closing(connect(base)) as extra:
                extra.sendall(b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n")
                answer = read_all(extra)
            assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
            assert b"retry-after: 1" in answer.lower()
            assert b'"code": "unavailable"' in answer and b"4 connections open" in answer
        finally:
            for holder in holders:
                holder.close()
        assert healthy(base)


def healthy(base: str) -> bool:
    """Whether /healthz answers 200 once the server has seen the closed connections go."""
    for _ in range(50):
        if httpx.get(f"{base}/healthz", timeout=30).status_code == 200:
            return True
        time.sleep(0.1)
    return False
