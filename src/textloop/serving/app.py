"""Builds the FastAPI application for one ``Settings``; no module-level state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from textloop import __version__
from textloop.config import Settings
from textloop.serving.errors import install_error_handlers
from textloop.serving.routes import (
    classifiers,
    classify,
    feedback,
    health,
    lineage,
    review,
    runs,
)
from textloop.serving.runtime import Runtime


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = runtime or Runtime.open(settings)
        try:
            yield
        finally:
            app.state.runtime.close()

    app = FastAPI(
        title="textloop",
        version=__version__,
        description="Text classification that keeps learning in production.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for module in (health, classify, feedback, review, classifiers, lineage, runs):
        app.include_router(module.router)
    return app
