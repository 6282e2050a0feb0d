"""The API key of a request, looked up once, before the route reads a byte of the body.

For a route whose policy needs a key, the key presented (``X-API-Key``, or ``Authorization:
Bearer``) is answered by ``KeyCache``: from memory for a known key, no database round trip;
otherwise looked up (and remembered when valid). The outcome goes into the request context: the
principal, or the refusal. A request with a body from a caller without a valid key is refused
with 401 here, at once: FastAPI parses a body before a route's dependencies run, and a parsed
JSON body takes many times its size in memory. Without a body, the route's key dependency
(``deps.api_key``) raises the refusal, so that the route still answers in its own order (a 405
before a 401). The scope, the reviewer's assignments and the usage plan are checked there too.

Plain ASGI, inside ``limits`` (whose refusals by size and type come first, as they need no key).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from textloop.errors import AuthError
from textloop.security.api_keys import Principal
from textloop.serving.context import context_in
from textloop.serving.errors import refusal_response
from textloop.serving.limits import has_body
from textloop.serving.runtime import Runtime


def presented_key(headers: Headers) -> str | None:
    """The key a caller presents: ``X-API-Key``, else a bearer token (``deps.key_headers``
    documents both)."""
    key = headers.get("x-api-key")
    if key:
        return key
    authorization = headers.get("authorization")
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


class Authentication:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = context_in(scope)
        runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
        if context.policy.key is None or runtime is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        context.authenticated = await look_up(runtime, presented_key(headers))
        if isinstance(context.authenticated, AuthError) and has_body(headers):
            response = refusal_response(context.policy.surface, context.authenticated)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def look_up(runtime: Runtime, key: str | None) -> Principal | AuthError:
    principal = runtime.keys.cached(key)
    if principal is not None:
        return principal
    try:
        return await run_in_threadpool(runtime.keys.authenticate, key)
    except AuthError as refusal:
        return refusal
