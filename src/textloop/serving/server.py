"""Runs the API under uvicorn with uvloop and httptools, in one process or several.

The in-process worker (``--with-worker``) shares the server's store and loaded encoders, so the
embedded single-process setup retrains without a second process; it stops with the server.
With ``workers`` > 1, uvicorn starts that many server processes on one port, each building its
app from the settings passed down in ``TEXTLOOP_*`` variables (``app_from_environment``).
"""

from __future__ import annotations

import os
import threading

import uvicorn
from fastapi import FastAPI

from textloop.config import Settings
from textloop.errors import ConfigError
from textloop.serving.app import create_app
from textloop.serving.runtime import Runtime
from textloop.store.database import open_store

SPEED = {"loop": "uvloop", "http": "httptools", "log_level": "info", "access_log": False}


def run_server(
    settings: Settings,
    host: str,
    port: int,
    runtime: Runtime | None = None,
    with_worker: bool = False,
    workers: int = 1,
) -> None:
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if workers > 1:
        if with_worker:
            raise ConfigError("--with-worker runs in one process: start `textloop worker` beside")
        open_store(settings).dispose()  # migrate once, before the processes start
        os.environ.update(settings.environment())
        print(f"textloop serving on http://{host}:{port} with {workers} processes", flush=True)
        uvicorn.run(
            "textloop.serving.server:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            **SPEED,  # type: ignore[arg-type]
        )
        return
    runtime = runtime or Runtime.open(settings, trains=with_worker)  # migrate before serving
    app = create_app(settings, runtime)
    stop = threading.Event()
    if with_worker:
        from textloop.jobs.worker import Worker

        worker = Worker(runtime.store, settings, runtime.resources)
        threading.Thread(target=worker.run, args=(stop,), name="worker", daemon=True).start()
    print(f"textloop serving on http://{host}:{port} (API docs at /docs)", flush=True)
    try:
        uvicorn.run(app, host=host, port=port, **SPEED)  # type: ignore[arg-type]
    finally:
        stop.set()


def app_from_environment() -> FastAPI:
    return create_app(Settings.load())
