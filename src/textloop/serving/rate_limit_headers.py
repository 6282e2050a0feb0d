"""``X-RateLimit-*`` on every response to a key with a monthly quota, refused or not.

``Scoped`` leaves the request's ``Admission`` in the request state; the classify routes build
their responses directly, so the headers are added here, as the response starts. Refusals carry
the same headers in their error (``TooManyRequests.headers``). Plain ASGI rather than
``BaseHTTPMiddleware``, which would cost every API request a task.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from textloop.security.usage import Admission


class RateLimitHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})  # the dict ``request.state`` writes to

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                admission = state.get("usage")
                if isinstance(admission, Admission):
                    MutableHeaders(scope=message).update(admission.headers())
            await send(message)

        await self.app(scope, receive, with_headers)
