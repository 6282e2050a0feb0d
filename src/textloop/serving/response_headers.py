"""The headers a response gets for what it is, added as it starts, in one pass.

Pages for people get a strict CSP (no inline script), may not be framed, and are not kept by
browsers or proxies (they show keys once, texts under review). Over TLS every response tells
browsers to come back over HTTPS only (HSTS). A response to a key with a monthly quota carries
``X-RateLimit-*``: ``deps.Scoped`` leaves the request's ``Admission`` in the request state, and
the classify routes build their responses directly, so the headers are added here (refusals
carry the same headers in their error, ``TooManyRequests.headers``).

Plain ASGI rather than ``BaseHTTPMiddleware``, which would cost every API request a task; an API
request over plain HTTP by a key without a plan passes through untouched.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from textloop.security.usage import Admission
from textloop.serving.errors import is_api_path

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
        path = scope["path"]
        headers = {} if is_api_path(path) else dict(PORTAL_HEADERS)
        if headers and not path.startswith("/static/"):
            headers.update(NO_STORE)
        if scope.get("scheme") == "https":
            headers.update(HSTS)
        state = scope.setdefault("state", {})  # the dict ``request.state`` writes to

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                admission = state.get("usage")
                quota = admission.headers() if isinstance(admission, Admission) else {}
                if headers or quota:
                    MutableHeaders(scope=message).update({**headers, **quota})
            await send(message)

        await self.app(scope, receive, with_headers)
