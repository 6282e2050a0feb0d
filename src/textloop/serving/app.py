"""Builds the FastAPI application for one ``Settings``; no module-level state."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from textloop import __version__
from textloop.config import Settings
from textloop.serving.audit_trail import AuditTrail
from textloop.serving.consistency import ReadYourWrites
from textloop.serving.errors import install_error_handlers, is_api_path
from textloop.serving.limits import InputLimits
from textloop.serving.portal import admin, models, pages
from textloop.serving.rate_limit_headers import RateLimitHeaders
from textloop.serving.routes import (
    audit,
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
    usage,
)
from textloop.serving.runtime import Runtime
from textloop.serving.schemas import ERROR_RESPONSES

# Every API route documents the error shape of its failures (OpenAPI), as it answers them.
API_ROUTES = (
    health,
    classify,
    feedback,
    review,
    classifiers,
    lineage,
    runs,
    pool,
    jobs,
    monitoring,
    usage,
    audit,
)


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = runtime or Runtime.open(settings)
        await run_in_threadpool(app.state.runtime.load_production_models)
        gc.freeze()  # what is loaded by now lives as long as the server: never scan it again
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
    for module in API_ROUTES:
        app.include_router(module.router, responses=ERROR_RESPONSES)
    app.include_router(pages.router)
    app.include_router(admin.router)
    app.include_router(models.router)
    app.mount("/static", StaticFiles(directory=PORTAL_STATIC), name="static")
    app.add_middleware(AuditTrail)
    app.add_middleware(ReadYourWrites)
    app.add_middleware(InputLimits, settings=settings)  # outside: refusals reach nothing else
    app.add_middleware(PortalSecurityHeaders)
    app.add_middleware(RateLimitHeaders)
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
NO_STORE = {"Cache-Control": "no-store"}
HSTS = {"Strict-Transport-Security": "max-age=31536000"}


class PortalSecurityHeaders:
    """Pages for people get a strict CSP (no inline script), may not be framed, and are not kept
    by browsers or proxies (they show keys once, texts under review). Over TLS, every response
    tells browsers to come back over HTTPS only (HSTS).

    Plain ASGI rather than ``BaseHTTPMiddleware``, which would cost every API request a task;
    an API request over plain HTTP passes straight through.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        headers = {} if is_api_path(path) else dict(PORTAL_HEADERS)
        if headers and not path.startswith("/static/"):
            headers.update(NO_STORE)
        if scope.get("scheme") == "https":
            headers.update(HSTS)
        if not headers:
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, with_headers)
