"""Run the real ``textloop`` executable: one-shot commands and a server on a free loopback port
(over HTTPS when given a certificate and its key)."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

TEXTLOOP = shutil.which("textloop", path=str(Path(sys.executable).parent)) or "textloop"


def environment(data_dir: Path, database_url: str) -> dict[str, str]:
    # one encoder export for every test, and the test's artifact store where it is not local
    shared = (
        "TEXTLOOP_ENCODER_DIR",
        "TEXTLOOP_ARTIFACT_ROOT",
        "TEXTLOOP_S3_ENDPOINT_URL",
        "TEXTLOOP_OUT_OF_SCOPE_RECALL",  # off in tests unless asked for (``tests/conftest.py``)
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTLOOP_") or k in shared}
    env.update(TEXTLOOP_DATA_DIR=str(data_dir), TEXTLOOP_DATABASE_URL=database_url)
    return env


def run_cli(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TEXTLOOP, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


HEAVY = ("torch", "transformers", "sentence_transformers", "sklearn")


def heavy_modules_after(code: str) -> list[str]:
    """Which of the libraries serving must never load a fresh Python has loaded after running
    ``code``."""
    script = f"import sys\n{code}\nprint(' '.join(n for n in {HEAVY!r} if n in sys.modules))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def trusting(certificate: Path) -> ssl.SSLContext:
    """A client TLS context that trusts exactly this (self-signed) certificate."""
    return ssl.create_default_context(cafile=str(certificate))


@contextmanager
def running_server(
    env: dict[str, str], log: Path, *options: str, tls: tuple[Path, Path] | None = None
) -> Iterator[str]:
    """Serve until the block ends; ``tls`` is (certificate, key): HTTPS, trusting that
    certificate only."""
    port = free_port()
    secure = ["--ssl-certfile", str(tls[0]), "--ssl-keyfile", str(tls[1])] if tls else []
    verify: ssl.SSLContext | bool = trusting(tls[0]) if tls else True
    with log.open("w") as output:
        process = subprocess.Popen(
            [TEXTLOOP, "serve", "--host", "127.0.0.1", "--port", str(port), *secure, *options],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        try:
            wait_until_answering(
                process, log, lambda: httpx.get(f"{base}/healthz", timeout=1, verify=verify)
            )
            yield base
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """TERM, and KILL if it has not exited within 15 s."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_until_answering(
    process: subprocess.Popen[bytes], log: Path, probe: Callable[[], httpx.Response]
) -> None:
    """Until ``probe`` gets a 2xx answer; the log in the error if the process dies or a minute
    passes first."""
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited early:\n{log.read_text()}")
        try:
            if probe().is_success:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{process.args[0]} did not start:\n{log.read_text()}")
        time.sleep(0.2)


def server_pids(log: Path) -> list[int]:
    """Every server process that logged its start (uvicorn: "Started server process [PID]")."""
    lines = [line for line in log.read_text().splitlines() if "Started server process" in line]
    return [int(line.rsplit("[", 1)[1].rstrip("]")) for line in lines]
