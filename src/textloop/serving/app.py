"""Builds the server for one ``Settings``: two applications, the API and the portal, and the
step in front that chooses between them (``surfaces``); no module-level state.

    Surfaces ─┬─► API     ResponseHeaders ─► InputLimits ─► Authentication ─► ReadYourWrites
              │           ─► AuditTrail ─► routes: /v1/..., /healthz, /metrics, /openapi.json
              └─► portal  ResponseHeaders ─► InputLimits ─► ReadYourWrites ─► AuditTrail
                          ─► pages: /, /login, /tasks/..., /admin/..., /docs, /static/...

Each application has its own middleware and renders its own errors (JSON, or HTML pages); the
middleware reads the matched route's policy, never the path. The API application is the root:
it runs the lifespan (the ``Runtime``, shared with the portal through one ``state``), serves the
OpenAPI document and is what ``create_app`` returns. The portal is not a Starlette ``Mount``: the
API's routes have no common prefix, and a mount would strip one from their paths (and so from
the OpenAPI document); ``Surfaces`` hands it whole requests instead.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp

from textloop import __version__
from textloop.config import Settings
from textloop.continuous.triggers import connect_triggers
from textloop.serving import api_reference
from textloop.serving.audit_trail import AuditTrail
from textloop.serving.authentication import Authentication
from textloop.serving.consistency import ReadYourWrites
from textloop.serving.errors import install_error_handlers
from textloop.serving.limits import InputLimits
from textloop.serving.policy import API_FALLBACK, PORTAL_FALLBACK, Surface, api, portal
from textloop.serving.portal import admin, discover, label_proposals, models, pages, sign_in
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
from textloop.serving.surfaces import RouteTable, Surfaces

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
PORTAL_STATIC = Path(pages.__file__).parent / "static"
# The routes the framework adds, which carry no declaration of their own.
OPENAPI = {"openapi": api()}  # public: it describes the routes, never data


class Server(FastAPI):
    """The API application, and the server's root: ``Surfaces`` runs before anything of the
    API's own, and hands a portal request to the portal application instead."""

    portal: FastAPI
    routes_by_surface: tuple[RouteTable, RouteTable]  # the API's, the portal's

    def build_middleware_stack(self) -> ASGIApp:
        api_routes, portal_routes = self.routes_by_surface
        return Surfaces(super().build_middleware_stack(), api_routes, self.portal, portal_routes)


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    connect_triggers()  # review decisions (API, portal) queue retrains: connected on purpose

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = runtime or Runtime.open(settings)
        await run_in_threadpool(app.state.runtime.load_production_models)
        gc.freeze()  # what is loaded by now lives as long as the server: never scan it again
        try:
            yield
        finally:
            app.state.runtime.close()

    server = Server(
        title="textloop",
        version=__version__,
        description="Text classification that keeps learning in production.",
        lifespan=lifespan,
        docs_url=None,  # the stock pages load their scripts from a CDN: ``api_reference``
        redoc_url=None,
        # no redirect to the slash-less path: it would be built from the client's Host header
        redirect_slashes=False,
    )
    install_error_handlers(server, Surface.API)
    for module in API_ROUTES:
        server.include_router(module.router, responses=ERROR_RESPONSES)
    server.router.routes.insert(0, classify.lean_route(server))  # matched before the documented
    add_middleware(server, settings, authenticates=True)
    server.portal = portal_app(server, settings)
    server.routes_by_surface = (  # refused here if a route declares no policy
        RouteTable(server, Surface.API, API_FALLBACK, OPENAPI),
        RouteTable(server.portal, Surface.PORTAL, PORTAL_FALLBACK),
    )
    return server


def portal_app(server: FastAPI, settings: Settings) -> FastAPI:
    application = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, redirect_slashes=False)
    application.state = server.state  # the runtime, set by the server's lifespan
    install_error_handlers(application, Surface.PORTAL)
    application.include_router(api_reference.router(server.openapi))
    application.include_router(sign_in.router)
    application.include_router(pages.router)
    application.include_router(admin.router)
    application.include_router(label_proposals.router)
    application.include_router(discover.router)
    application.include_router(models.router)
    static = portal(browsers_keep=True)(StaticFiles(directory=PORTAL_STATIC))
    application.mount("/static", static, name="static")
    add_middleware(application, settings, authenticates=False)
    return application


def add_middleware(app: FastAPI, settings: Settings, authenticates: bool) -> None:
    """Each added outside the ones before: the response headers outermost, the audit trail
    nearest the routes. The API's key lookup runs just inside the input limits, so that a body
    too large or of the wrong type is refused before the key is looked up."""
    app.add_middleware(AuditTrail)
    app.add_middleware(ReadYourWrites)
    if authenticates:
        app.add_middleware(Authentication)
    app.add_middleware(InputLimits, settings=settings)  # outside: refusals reach nothing else
    app.add_middleware(ResponseHeaders)
