"""Input limits on every route, checked before the application sees the request body.

    request ─► size by Content-Length ─► Content-Type ─► bytes counted (and JSON checked as UTF-8)
                                                          while the route reads them

A body over its route's budget is refused with 413 as soon as that is known: at once when the
Content-Length says so, otherwise (a chunked body) when the bytes counted cross it, and nothing
more is read. The budget is the one the matched route's policy declares (``policy.Body``):
``max_upload_bytes`` for a file streamed to disk (a dataset, corrections, a batch job's input),
``max_body_bytes`` for every other API route (parsed in memory, pool texts included),
``MAX_FORM_BYTES`` for the portal's forms; a path no route answers has its application's. A
write (POST, PUT, PATCH) with a body to a JSON route must be ``application/json`` (415) and
UTF-8 (400); an upload route checks its own list of Content-Types and its file's encoding. The
API key is checked next, by ``authentication``, still before any of the body is read.

Every refusal has the one error shape of ``errors`` (an HTML page on the portal) and is sent
either before the route runs or, when the route is reading the body already, instead of the
route's answer: the route sees the client go away, so a refused request changes nothing.
Plain ASGI, like ``ResponseHeaders``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from textloop.config import Settings
from textloop.data.encoding import InvalidUtf8, Utf8Check
from textloop.data.storable import unstorable
from textloop.errors import (
    InvalidRequest,
    MalformedBody,
    TextloopError,
    TooLarge,
    UnsupportedMediaType,
)
from textloop.serving.content_type import media_type
from textloop.serving.context import context_in
from textloop.serving.errors import refusal_response
from textloop.serving.policy import Body
from textloop.serving.portal.session import MAX_FORM_BYTES

WRITES = frozenset({"POST", "PUT", "PATCH"})
JSON = "application/json"


@dataclass(frozen=True)
class Budget:
    max_bytes: int
    name: str  # what sets the limit, for the message
    json: bool  # a JSON write: Content-Type and UTF-8 checked


class InputLimits:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def budget(self, method: str, body: Body) -> Budget:
        if body is Body.FORM:
            return Budget(MAX_FORM_BYTES, "the portal's forms", json=False)
        if body is Body.UPLOAD:
            return Budget(self.settings.max_upload_bytes, "max_upload_bytes", json=False)
        return Budget(self.settings.max_body_bytes, "max_body_bytes", json=method in WRITES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        budget = self.budget(scope["method"], context_in(scope).policy.body)
        headers = Headers(scope=scope)
        refusal = unstorable_url(scope) or refusal_by_headers(headers, budget)
        if refusal is not None:
            await answer(refusal, scope, receive, send)
            return
        body = BodyCheck(budget)
        refused: TextloopError | None = None
        started = False

        async def counted_receive() -> Message:
            nonlocal refused
            if refused is not None:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                refused = body.take(message.get("body", b""), message.get("more_body", False))
                if refused is not None:
                    return {"type": "http.disconnect"}  # read no more; the route gives up
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused is not None and not started:
                return  # the route's answer to a body cut off; the refusal goes instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if refused is None or started:
                raise  # a route that gave up on a refused body fails as it likes
        if refused is not None and not started:
            await answer(refused, scope, receive, send)


def has_body(headers: Headers) -> bool:
    length = content_length(headers)
    return bool(length) if length is not None else "transfer-encoding" in headers


def refusal_by_headers(headers: Headers, budget: Budget) -> TextloopError | None:
    length = content_length(headers)
    if length is not None and length > budget.max_bytes:
        return too_large(budget)
    if budget.json and has_body(headers):
        sent = media_type(headers)
        if sent != JSON:
            return UnsupportedMediaType(
                f"Content-Type must be {JSON}, not {sent or '(none)'!r}",
                field="content-type",
            )
    return None


class BodyCheck:
    """The bytes of one body as they arrive: counted, and decoded when they must be JSON."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.size = 0
        self.utf8 = Utf8Check() if budget.json else None

    def take(self, chunk: bytes, more: bool) -> TextloopError | None:
        self.size += len(chunk)
        if self.size > self.budget.max_bytes:
            return too_large(self.budget)
        if self.utf8 is not None:
            try:
                self.utf8.feed(chunk, final=not more)
            except InvalidUtf8 as problem:
                return MalformedBody(f"request body: {problem}; send JSON as UTF-8")
        return None


def too_large(budget: Budget) -> TooLarge:
    return TooLarge(
        f"request body is larger than {budget.max_bytes:,} bytes ({budget.name})", field="body"
    )


def content_length(headers: Headers) -> int | None:
    try:
        return int(headers["content-length"])
    except (KeyError, ValueError):
        return None  # the server refuses a malformed one; the bytes are counted anyway


async def answer(refusal: TextloopError, scope: Scope, receive: Receive, send: Send) -> None:
    await refusal_response(context_in(scope).policy.surface, refusal)(scope, receive, send)


def unstorable_url(scope: Scope) -> TextloopError | None:
    """A path or query holding a character no database stores (``%00``): refused before any
    route looks a value of it up (PostgreSQL would fail the query, SQLite would not)."""
    query = unquote(scope.get("query_string", b"").decode("latin-1"), errors="surrogateescape")
    for part, value in (("path", scope["path"]), ("query", query)):
        reason = unstorable(value)
        if reason is not None:
            return InvalidRequest(f"the URL's {part} {reason}", field=part)
    return None
