"""A load balancer's view of a server whose database goes away and comes back: ``/readyz`` says
503 while the database is unreachable and 200 again once it answers; ``/healthz`` stays 200."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.processes import environment, running_server


class CuttableLink:
    """A TCP forwarder between the server and PostgreSQL that can be cut and restored: the
    database becomes unreachable to the server, as over a failed network, while it runs on."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and break the open ones."""
        self.up.clear()
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.cut()
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                _close(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked reading it
    sock.close()


def wait_for(base: str, status: int) -> tuple[httpx.Response, float]:
    """Poll ``/readyz`` until it answers ``status``; the answer and the seconds it took."""
    started = time.monotonic()
    while True:
        answer = httpx.get(f"{base}/readyz", timeout=5)
        if answer.status_code == status:
            return answer, time.monotonic() - started
        assert time.monotonic() - started < 30, f"/readyz still {answer.status_code}"
        time.sleep(0.05)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_readyz_follows_the_database_and_healthz_does_not(
    tmp_path: Path, database_url: str
) -> None:
    url = make_url(database_url)
    link = CuttableLink((url.host or "127.0.0.1", url.port or 5432))
    proxied = url.set(port=link.port).render_as_string(hide_password=False)
    try:
        with running_server(environment(tmp_path / "data", proxied), tmp_path / "log") as base:
            ready, _ = wait_for(base, 200)
            assert ready.json()["status"] == "ready"

            link.cut()
            refused, _ = wait_for(base, 503)
            error = refused.json()["error"]
            assert error["code"] == "not_ready" and "database" in error["message"]
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200

            link.restore()
            _, took = wait_for(base, 200)
            print(f"ready again {took:.2f} s after the database came back")
    finally:
        link.close()
