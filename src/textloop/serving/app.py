"""Builds the FastAPI application for one ``Settings``; no module-level state."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from textloop import __version__
from textloop.config import Settings
from textloop.serving import api_reference
from textloop.serving.audit_trail import AuditTrail
from textloop.serving.consistency import ReadYourWrites
from textloop.serving.errors import install_error_handlers
from textloop.serving.limits import InputLimits
from textloop.serving.portal import admin, models, pages
from textloop.serving.response_headers import ResponseHeaders
from textloop.serving.routes import (
    audit,
    batch,
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
    batch,
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
        docs_url=None,  # the stock pages load their scripts from a CDN: ``api_reference``
        redoc_url=None,
        # no redirect to the slash-less path: it would be built from the client's Host header
        redirect_slashes=False,
    )
    install_error_handlers(app)
    for module in API_ROUTES:
        app.include_router(module.router, responses=ERROR_RESPONSES)
    app.include_router(api_reference.router)
    app.include_router(pages.router)
    app.include_router(admin.router)
    app.include_router(models.router)
    app.mount("/static", StaticFiles(directory=PORTAL_STATIC), name="static")
    app.add_middleware(AuditTrail)
    app.add_middleware(ReadYourWrites)
    app.add_middleware(InputLimits, settings=settings)  # outside: refusals reach nothing else
    app.add_middleware(ResponseHeaders)
    return app


PORTAL_STATIC = Path(pages.__file__).parent / "static"
