"""The headers a response gets for what it is, added as it starts, in one pass.

What a response is comes from the matched route's policy (``policy.RoutePolicy``): the portal's
answers get a strict CSP (no inline script), may not be framed, and are not kept by browsers or
proxies (they show keys once, texts under review), all but its static files. Over TLS every
response tells browsers to come back over HTTPS only (HSTS). A response to a key with a monthly
quota carries ``X-RateLimit-*``: ``deps.api_key`` leaves the request's ``Admission`` in the
request context, and the classify routes build their responses directly, so the headers are
added here (refusals carry the same headers in their error, ``TooManyRequests.headers``).

Plain ASGI rather than ``BaseHTTPMiddleware``, which would cost every API request a task; an API
request over plain HTTP by a key without a plan passes through untouched.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from textloop.serving.context import context_in
from textloop.serving.policy import Surface

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


class ResponseHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = context_in(scope)
        policy = context.policy
        headers = {} if policy.surface is Surface.API else dict(PORTAL_HEADERS)
        if headers and not policy.browsers_keep:
            headers.update(NO_STORE)
        if scope.get("scheme") == "https":
            headers.update(HSTS)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                admission = context.usage
                quota = admission.headers() if admission is not None else {}
                if headers or quota:
                    MutableHeaders(scope=message).update({**headers, **quota})
            await send(message)

        await self.app(scope, receive, with_headers)
