"""Runs the API under uvicorn (uvloop and httptools when installed)."""

from __future__ import annotations

import uvicorn

from textloop.config import Settings
from textloop.serving.app import create_app
from textloop.serving.runtime import Runtime


def run_server(settings: Settings, host: str, port: int, runtime: Runtime | None = None) -> None:
    runtime = runtime or Runtime.open(settings)  # migrate before accepting connections
    app = create_app(settings, runtime)
    print(f"textloop serving on http://{host}:{port} (API docs at /docs)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
