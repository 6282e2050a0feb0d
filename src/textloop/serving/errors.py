"""One JSON error shape for every API failure: ``{"error": {"code", "message", "field"?}}``.

``TextloopError`` subclasses carry their own status; request validation becomes 422 naming the
field (400 for a body that is not JSON at all); anything unexpected is a 500 whose body says
nothing about the internals, while the traceback goes to the server log. The same failures on
the portal (its pages, the API reference at ``/docs``) are answered with an HTML page, and a page
that needs a signed-in person with a redirect to the login page.

Which of the two is chosen by surface (``policy.Surface``), never by path: each application
installs the handlers of its own surface (``install_error_handlers``), and middleware that
refuses a request before it reaches a route renders the refusal for the surface of the matched
route's policy (``refusal_response``), the same surface.
"""

from __future__ import annotations

import logging
from functools import partial
from html import escape
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from textloop.errors import TextloopError
from textloop.serving.policy import Surface
from textloop.serving.portal.session import SignInRequired

log = logging.getLogger(__name__)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    return {"error": error}


def error_response(
    surface: Surface, status: int, body: dict[str, Any], headers: Any = None
) -> Response:
    """JSON for the API, an HTML page for the portal; also sent by middleware (``limits``)."""
    if surface is Surface.API:
        return JSONResponse(body, status_code=status, headers=headers)
    message = escape(body["error"]["message"])
    page = (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>textloop: error</title>"
        '<link rel=stylesheet href="/static/portal.css"></head><body><main>'
        f"<h1>{status}</h1><p class=error role=alert>{message}</p>"
        '<p><a href="/">Back to the queues</a></p></main></body></html>'
    )
    return HTMLResponse(page, status_code=status)


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/login", status_code=303)


def install_error_handlers(app: FastAPI, surface: Surface) -> None:
    if surface is Surface.PORTAL:
        app.add_exception_handler(SignInRequired, _sign_in_first)
    app.add_exception_handler(TextloopError, partial(_textloop_error, surface))
    app.add_exception_handler(RequestValidationError, partial(_validation_error, surface))
    app.add_exception_handler(StarletteHTTPException, partial(_http_error, surface))
    app.add_exception_handler(Exception, partial(_unexpected_error, surface))


def refusal_response(surface: Surface, exc: TextloopError) -> Response:
    """The answer to an expected failure, by a route or by middleware (``limits``)."""
    headers = dict(exc.headers)
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    # A person in the portal is told the fact; a program, also the request that fixes it.
    message = exc.for_api() if surface is Surface.API else exc.message
    body = error_body(exc.code, message, exc.field)
    return error_response(surface, exc.status_code, body, headers)


async def _textloop_error(surface: Surface, request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TextloopError)
    return refusal_response(surface, exc)


async def _validation_error(surface: Surface, request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first: dict[str, Any] = (
        dict(errors[0]) if errors else {"loc": (), "msg": "invalid request", "type": ""}
    )
    if first.get("type") == "json_invalid":
        reason = str(first.get("ctx", {}).get("error") or first["msg"])
        where = await _json_position(request, first.get("loc", ()))
        return error_response(
            surface,
            400,
            error_body("malformed_json", f"request body is not valid JSON: {reason}{where}"),
        )
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(location) or None
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    text = f"{field}: {message}" if field else message
    return error_response(surface, 422, error_body("validation_error", text, field))


async def _json_position(request: Request, location: Any) -> str:
    """`` at line L, column C``: where in the body the decoder stopped (its offset in ``loc``)."""
    offset = location[-1] if location and isinstance(location[-1], int) else None
    if offset is None:
        return ""
    try:
        before = (await request.body()).decode("utf-8", errors="replace")[:offset]
    except RuntimeError:  # the body can no longer be read: the offset alone still helps
        return f" at character {offset + 1}"
    line = before.count("\n") + 1
    return f" at line {line}, column {len(before) - (before.rfind(chr(10)) + 1) + 1}"


UNPARSED_BODY = "There was an error parsing the body"  # FastAPI's words for it


async def _http_error(surface: Surface, request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == UNPARSED_BODY:
        # JSON the decoder gave up on (nested too deep, a number too long): still bad JSON
        message = "request body is not valid JSON: nested too deeply or a number too long"
        return error_response(surface, 400, error_body("malformed_json", message))
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(surface, exc.status_code, error_body(code, str(exc.detail)), exc.headers)


async def _unexpected_error(surface: Surface, request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    # The server closes the connection after an unexpected error; say so, so that a client
    # does not send its next request on it.
    body = error_body("internal_error", "internal server error")
    return error_response(surface, 500, body, {"Connection": "close"})
