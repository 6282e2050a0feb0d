"""Runs the API under uvicorn with uvloop and httptools, in one process or several.

Every connection is bounded before the app sees a request (``connections``): the size of a
request head, the time to send it, and the number of open connections.

The in-process worker (``--with-worker``) shares the server's store and loaded encoders, so the
embedded single-process setup retrains without a second process; it stops with the server.
With ``workers`` > 1, uvicorn starts that many server processes on one port, each building its
app from the settings passed down in ``TEXTLOOP_*`` variables (``app_from_environment``).
With ``tls``, uvicorn serves HTTPS in every process, and responses carry HSTS
(``response_headers``).
"""

from __future__ import annotations

import os
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from textloop.config import Settings
from textloop.errors import ConfigError
from textloop.serving.app import create_app
from textloop.serving.connections import ConnectionLimits
from textloop.serving.runtime import Runtime
from textloop.store.database import open_store

# An idle keep-alive connection stays open longer than clients and load balancers keep theirs
# (HTTP clients: about 5 s; AWS ALB: 60 s): with uvicorn's 5 s, a request sent on a connection
# the server is just closing fails without an answer, as the load benchmark saw.
KEEP_ALIVE_SECONDS = 75
SPEED = {
    "loop": "uvloop",
    "log_level": "info",
    "access_log": False,
    "timeout_keep_alive": KEEP_ALIVE_SECONDS,
}


@dataclass(frozen=True)
class Tls:
    """The certificate and private key HTTPS is served with (PEM files)."""

    certfile: Path
    keyfile: Path

    @classmethod
    def from_options(cls, certfile: Path | None, keyfile: Path | None) -> Tls | None:
        """Both or neither; both must exist and belong together, checked before serving."""
        if certfile is None and keyfile is None:
            return None
        if certfile is None or keyfile is None:
            raise ConfigError("give both --ssl-certfile and --ssl-keyfile, or neither")
        for option, path in (("--ssl-certfile", certfile), ("--ssl-keyfile", keyfile)):
            if not path.is_file():
                raise ConfigError(f"{option} {path}: no such file")
        try:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(certfile, keyfile, password=lambda: "")  # never prompt
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"cannot use {certfile} with {keyfile} for TLS: {exc}; "
                "give a PEM certificate and its unencrypted private key"
            ) from None
        return cls(certfile.absolute(), keyfile.absolute())

    def options(self) -> dict[str, Any]:
        return {"ssl_certfile": str(self.certfile), "ssl_keyfile": str(self.keyfile)}


def run_server(
    settings: Settings,
    host: str,
    port: int,
    runtime: Runtime | None = None,
    with_worker: bool = False,
    workers: int = 1,
    tls: Tls | None = None,
) -> None:
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    served = {
        **(tls.options() if tls else {}),
        **connection_limits(settings).uvicorn_options(),
        **forwarding(settings),
    }
    url = f"{'https' if tls else 'http'}://{host}:{port}"
    if workers > 1:
        if with_worker:
            raise ConfigError("--with-worker runs in one process: start `textloop worker` beside")
        open_store(settings).dispose()  # migrate once, before the processes start
        os.environ.update(settings.environment())
        print(f"textloop serving on {url} with {workers} processes", flush=True)
        uvicorn.run(
            "textloop.serving.server:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            **served,
            **SPEED,  # type: ignore[arg-type]
        )
        return
    runtime = runtime or Runtime.open(settings, trains=with_worker)  # migrate before serving
    app = create_app(settings, runtime)
    stop = threading.Event()
    if with_worker:
        from textloop.worker import Worker

        worker = Worker(runtime.store, settings, runtime.resources)
        threading.Thread(target=worker.run, args=(stop,), name="worker", daemon=True).start()
    print(f"textloop serving on {url} (API docs at /docs)", flush=True)
    try:
        uvicorn.run(app, host=host, port=port, **served, **SPEED)  # type: ignore[arg-type]
    finally:
        stop.set()


def forwarding(settings: Settings) -> dict[str, Any]:
    """Whose ``X-Forwarded-*`` headers to believe: only the proxies the settings name. uvicorn
    would otherwise believe any client on 127.0.0.1, which could then choose the address the
    audit log records and sign-in throttling counts."""
    if not settings.forwarded_allow_ips:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.forwarded_allow_ips)}


def connection_limits(settings: Settings) -> ConnectionLimits:
    """The settings' connection limits, refused when they would stop the server answering."""
    if settings.max_connections < 1:
        raise ConfigError(f"max_connections must be at least 1, got {settings.max_connections}")
    if settings.header_timeout <= 0:
        raise ConfigError(f"header_timeout must be positive, got {settings.header_timeout}")
    if settings.max_header_bytes < 1024:
        raise ConfigError(
            f"max_header_bytes must be at least 1024, got {settings.max_header_bytes}"
        )
    return ConnectionLimits(
        settings.max_header_bytes, settings.header_timeout, settings.max_connections
    )


def app_from_environment() -> FastAPI:
    return create_app(Settings.load())
