"""Runs the API under uvicorn (uvloop and httptools when installed), optionally with a worker.

The in-process worker (``--with-worker``) shares the server's store and loaded encoders, so the
embedded single-process setup retrains without a second process; it stops with the server.
"""

from __future__ import annotations

import threading

import uvicorn

from textloop.config import Settings
from textloop.serving.app import create_app
from textloop.serving.runtime import Runtime


def run_server(
    settings: Settings,
    host: str,
    port: int,
    runtime: Runtime | None = None,
    with_worker: bool = False,
) -> None:
    runtime = runtime or Runtime.open(settings)  # migrate before accepting connections
    app = create_app(settings, runtime)
    stop = threading.Event()
    if with_worker:
        from textloop.jobs.worker import Worker

        worker = Worker(runtime.store, settings, runtime.resources)
        threading.Thread(target=worker.run, args=(stop,), name="worker", daemon=True).start()
    print(f"textloop serving on http://{host}:{port} (API docs at /docs)", flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
    finally:
        stop.set()
