"""What one request carries from the code that learns it to the code that needs it, in one typed
object under one key of the ASGI scope.

    surfaces (the route matched once) ─► authentication (the key looked up once)
        ─► deps.api_key (the scope checked; usage admitted) ─► handler (audit notes)
        ─► audit_trail, response_headers (read it as the answer starts)

``surfaces.Surfaces`` makes the context for every HTTP request before any middleware runs, so
``context_in``/``context_of`` always find one. Each field has one writer, named beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import Scope

from textloop.errors import AuthError
from textloop.security.accounts import Account
from textloop.security.api_keys import Principal
from textloop.security.usage import Admission
from textloop.serving.policy import RoutePolicy

SCOPE_KEY = "textloop.context"


@dataclass
class RequestContext:
    policy: RoutePolicy  # surfaces: the matched route's, or the receiving app's fallback
    template: str  # surfaces: the route's path ("/v1/classifiers/{name}"), or the path itself
    # authentication: the presented API key's principal, or why it was refused
    authenticated: Principal | AuthError | None = None
    # deps.api_key: the key the route checked, even when it lacked the scope (the audit's actor)
    principal: Principal | None = None
    usage: Admission | None = None  # deps.api_key: the plan's admission (X-RateLimit-* headers)
    account: Account | None = None  # portal.session: the person signed in
    audit_target: str | None = None  # audit_trail.note: what the path does not name
    audit_details: dict[str, Any] = field(default_factory=dict)  # audit_trail.note


def context_in(scope: Scope) -> RequestContext:
    context: RequestContext = scope[SCOPE_KEY]
    return context


def context_of(connection: HTTPConnection) -> RequestContext:
    return context_in(connection.scope)
