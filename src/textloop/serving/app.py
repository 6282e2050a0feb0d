"""Builds the FastAPI application for one ``Settings``; no module-level state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from textloop import __version__
from textloop.config import Settings
from textloop.serving.errors import install_error_handlers, is_api_path
from textloop.serving.portal import admin, models, pages
from textloop.serving.routes import (
    classifiers,
    classify,
    feedback,
    health,
    jobs,
    lineage,
    monitoring,
    pool,
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
    for module in (health, classify, feedback, review, classifiers, lineage, runs, pool):
        app.include_router(module.router)
    for module in (jobs, monitoring):
        app.include_router(module.router)
    app.include_router(pages.router)
    app.include_router(admin.router)
    app.include_router(models.router)
    app.mount("/static", StaticFiles(directory=PORTAL_STATIC), name="static")
    app.middleware("http")(portal_security_headers)
    return app


PORTAL_STATIC = Path(pages.__file__).parent / "static"
PORTAL_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


async def portal_security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Pages for people get a strict CSP (no inline script) and may not be framed."""
    response = await call_next(request)
    if not is_api_path(request.url.path):
        response.headers.update(PORTAL_HEADERS)
    return response
