"""The server's first step: which application answers a request, and under which policy.

    request ─► matched once against the routes of the API and of the portal
              ─► RequestContext(policy, template) into the scope
              ─► the API application (its own middleware, JSON errors)
                 or the portal application (its own middleware, HTML pages)

A route answers with its own application. A path no route answers (a 404) goes to the API when
it lies under ``/v1/``, the API's versioned part of the URL space, and to the portal otherwise; it
is held to that application's fallback policy. A path that a route has but not for this method
(a 405) goes to that route's application, under its policy, as the router then answers it.

Matching is Starlette's own (``route.matches(scope)``), in the order the routers will match, so
the route found here is the route that runs. The routers match again to dispatch: one more pass
over the routes per request, in place of every middleware classifying the path its own way.

Knowing the route of every request, whichever application and handler answer it, this is also
where each request is timed, once, into the runtime's ``request_latency`` histogram.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from time import perf_counter

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from textloop.serving.context import SCOPE_KEY, RequestContext
from textloop.serving.policy import RoutePolicy, Surface, declared
from textloop.serving.request_latency import UNMATCHED
from textloop.serving.runtime import Runtime

API_SPACE = "/v1/"  # every path under it is the API's, answered or not


@dataclass(frozen=True)
class Entry:
    matches: Callable[[Scope], tuple[Match, Scope]]  # the route's own (Starlette's)
    policy: RoutePolicy
    template: str


class RouteTable:
    """The routes of one application, in matching order, each with its declared policy."""

    def __init__(
        self,
        app: FastAPI,
        surface: Surface,
        fallback: RoutePolicy,
        by_name: Mapping[str, RoutePolicy] | None = None,
    ) -> None:
        """``by_name``: the policies of routes the framework adds (``openapi``), which carry
        no declaration of their own."""
        self.fallback = fallback
        self.entries: list[Entry] = []
        for route in iter_route_contexts(app.routes):
            target = route.endpoint if route.endpoint is not None else getattr(route, "app", None)
            policy = declared(target) or (by_name or {}).get(route.name or "")
            if policy is None:
                raise TypeError(f"route {route.path} declares no policy (serving.policy)")
            if policy.surface is not surface:
                raise TypeError(f"route {route.path} is declared {policy.surface}, not {surface}")
            self.entries.append(Entry(route.matches, policy, route.path or ""))

    def match(self, scope: Scope) -> tuple[Match, Entry | None]:
        partial: Entry | None = None
        for entry in self.entries:
            match, _ = entry.matches(scope)
            if match is Match.FULL:
                return match, entry
            if match is Match.PARTIAL and partial is None:
                partial = entry
        return (Match.PARTIAL, partial) if partial is not None else (Match.NONE, None)


class Surfaces:
    """Plain ASGI in front of both applications; anything but HTTP (the lifespan) goes to the
    API, the root application."""

    def __init__(
        self, api: ASGIApp, api_routes: RouteTable, portal: ASGIApp, portal_routes: RouteTable
    ) -> None:
        self.api = api
        self.portal = portal
        self.tables = ((api_routes, api), (portal_routes, portal))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.api(scope, receive, send)
            return
        started = perf_counter()
        runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
        app, route = self._choose(scope)
        try:
            await app(scope, receive, send)
        finally:  # a request that failed took its time too
            if runtime is not None:  # None only before the lifespan has started
                runtime.latency.observe(route, scope["method"], perf_counter() - started)

    def _choose(self, scope: Scope) -> tuple[ASGIApp, str]:
        """The application that answers, with the request's context put in ``scope``; and the
        route label of its latency (``request_latency``): the template, never the raw path."""
        partial: tuple[Entry, ASGIApp] | None = None
        for table, app in self.tables:
            match, entry = table.match(scope)
            if match is Match.FULL and entry is not None:
                scope[SCOPE_KEY] = RequestContext(entry.policy, entry.template)
                return app, entry.template
            if match is Match.PARTIAL and entry is not None and partial is None:
                partial = (entry, app)
        if partial is not None:
            entry, app = partial
            scope[SCOPE_KEY] = RequestContext(entry.policy, entry.template)
            return app, entry.template
        table, app = self.tables[0] if scope["path"].startswith(API_SPACE) else self.tables[1]
        scope[SCOPE_KEY] = RequestContext(table.fallback, scope["path"])
        return app, UNMATCHED
