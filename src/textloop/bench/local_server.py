"""Start ``textloop serve`` as a child process on a free loopback port, and stop it for sure.

The benchmark measures the real server, so it runs the same command a person would, with the
same settings passed through the environment. It runs in its own session: a Ctrl-C at the
terminal reaches only ``bench``, which then stops the server itself (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from textloop.bench.cores import pin_child
from textloop.config import Settings
from textloop.errors import TextloopError

HOST = "127.0.0.1"
READY_TIMEOUT = 180.0
STOP_TIMEOUT = 15.0
LOG_TAIL_LINES = 15


class ServerFailed(TextloopError):
    """The server exited, or did not answer ``/healthz`` in time; ``log_tail`` says why."""

    def __init__(self, message: str, log_tail: list[str]) -> None:
        super().__init__(message)
        self.log_tail = log_tail


@dataclass(frozen=True)
class LocalServer:
    process: subprocess.Popen[bytes]
    url: str
    ready_seconds: float  # from starting the process to the first 200 from /healthz
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def raise_if_exited(self) -> None:
        """A server that died mid-run turns every later request into an error; say so instead."""
        code = self.process.poll()
        if code is not None:
            raise ServerFailed(f"`textloop serve` exited with code {code}", _tail(self.log))


@contextmanager
def local_server(
    settings: Settings, workers: int | None = None, cores: frozenset[int] | None = None
) -> Iterator[LocalServer]:
    """``cores``: the only cores the server (every thread and process of it) may run on."""
    port = free_port()
    command = [sys.executable, "-m", "textloop", "serve", "--host", HOST, "--port", str(port)]
    if workers is not None and workers > 1:
        command += ["--workers", str(workers)]
    env = {**os.environ, **settings.environment()}
    with tempfile.TemporaryDirectory(prefix="textloop-bench-") as scratch:
        log = Path(scratch) / "server.log"
        with log.open("wb") as output:
            started = time.perf_counter()
            process = subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=pin_child(cores),
            )
            try:
                _wait_until_ready(process, port, log)
                ready = time.perf_counter() - started
                yield LocalServer(process, f"http://{HOST}:{port}", ready, log)
            finally:
                _stop(process)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _wait_until_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        code = process.poll()
        if code is not None:
            raise ServerFailed(
                f"`textloop serve` exited with code {code} before it was ready", _tail(log)
            )
        if _healthy(port):
            return
        if time.monotonic() > deadline:
            raise ServerFailed(
                f"`textloop serve` did not answer /healthz within {READY_TIMEOUT:.0f} s",
                _tail(log),
            )
        time.sleep(0.05)


def _healthy(port: int) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=1.0)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: workers included
            process.wait()


def _tail(log: Path) -> list[str]:
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return lines[-LOG_TAIL_LINES:]
