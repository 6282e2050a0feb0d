"""From a method's ``Call`` to its answer: build the request on its route, send it through the
transport (which retries), turn an error answer into an ``ApiError``, and read a good one (or
stream it into a file). ``Runner`` blocks; ``AsyncRunner`` is its coroutine twin.

Both decide alike what an answer is (``_failed``, ``_read``): anything but a 2xx (or one of the
call's ``final`` statuses) is an ``ApiError``, a redirect included, since the client follows
none; and a 2xx whose body cannot be read (not JSON) is an ``ApiError`` too, never a decoder's
own error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from textloop.client.errors import TransportError, error_from, unreadable_answer
from textloop.client.files import async_chunks, chunks, finish_download, partial_path
from textloop.client.routes import Call, Route
from textloop.client.transport import AsyncTransport, Transport


@dataclass(frozen=True)
class Timeouts:
    """``default`` for every call; ``slow`` for the calls that run a pipeline step before they
    answer (training, deploying with its infra-validation, sampling the pool)."""

    default: httpx.Timeout
    slow: httpx.Timeout


def request_for(
    http: httpx.Client | httpx.AsyncClient,
    route: Route,
    call: Call[Any],
    timeouts: Timeouts,
    asynchronous: bool,
) -> httpx.Request:
    """A fresh request for one attempt: a file body is opened again, from its start."""
    headers = dict(call.headers)
    content: Any = call.content
    if isinstance(call.content, Path):
        headers["Content-Length"] = str(call.content.stat().st_size)
        content = async_chunks(call.content) if asynchronous else chunks(call.content)
    query = {k: v for k, v in (call.query or {}).items() if v is not None}
    return http.build_request(
        route.method,
        route.url(call.path),
        params=query or None,
        json=call.json,
        content=content,
        headers=headers,
        timeout=timeouts.slow if call.slow else timeouts.default,
    )


def _failed(response: httpx.Response, call: Call[Any]) -> bool:
    """Whether the answer is an error: any status outside 2xx (a 3xx too: redirects are not
    followed) that the call does not take as an answer."""
    return not response.is_success and response.status_code not in call.final


def _read(response: httpx.Response, call: Call[Any]) -> Any:
    """The call's answer from a read response; a body that cannot be decoded (a 200 with an
    HTML page or nothing, where JSON was expected) raises an ``ApiError``."""
    try:
        return call.read(response)
    except ValueError as exc:  # json.JSONDecodeError, UnicodeDecodeError
        raise unreadable_answer(response, exc) from exc


class Runner:
    """Runs the calls of the blocking client."""

    def __init__(self, transport: Transport, timeouts: Timeouts) -> None:
        self.transport = transport
        self.timeouts = timeouts

    def run(self, route: Route, call: Call[Any]) -> Any:
        response = self.transport.send(
            lambda: request_for(self.transport.http, route, call, self.timeouts, False),
            stream=call.save_to is not None,
            final=call.final,
        )
        try:
            if _failed(response, call):
                response.read()
                raise error_from(response)
            if call.save_to is not None:
                partial = partial_path(call.save_to)
                try:
                    with partial.open("wb") as output:
                        for chunk in response.iter_bytes():
                            output.write(chunk)
                except BaseException as exc:
                    partial.unlink(missing_ok=True)
                    if isinstance(exc, httpx.TransportError):
                        raise TransportError(f"{type(exc).__name__}: {exc}") from exc
                    raise
                finish_download(partial, call.save_to)
            return _read(response, call)
        finally:
            response.close()


class AsyncRunner:
    """Runs the calls of the async client."""

    def __init__(self, transport: AsyncTransport, timeouts: Timeouts) -> None:
        self.transport = transport
        self.timeouts = timeouts

    async def run(self, route: Route, call: Call[Any]) -> Any:
        response = await self.transport.send(
            lambda: request_for(self.transport.http, route, call, self.timeouts, True),
            stream=call.save_to is not None,
            final=call.final,
        )
        try:
            if _failed(response, call):
                await response.aread()
                raise error_from(response)
            if call.save_to is not None:
                partial = partial_path(call.save_to)
                try:
                    with partial.open("wb") as output:
                        async for chunk in response.aiter_bytes():
                            output.write(chunk)
                except BaseException as exc:
                    partial.unlink(missing_ok=True)
                    if isinstance(exc, httpx.TransportError):
                        raise TransportError(f"{type(exc).__name__}: {exc}") from exc
                    raise
                finish_download(partial, call.save_to)
            return _read(response, call)
        finally:
            await response.aclose()
