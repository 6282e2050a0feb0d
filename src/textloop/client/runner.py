"""From a method's ``Call`` to its answer: build the request on its route, send it through the
transport (which retries), turn an error answer into an ``ApiError``, and read a good one (or
stream it into a file). ``Runner`` blocks; ``AsyncRunner`` is its coroutine twin.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from textloop.client.errors import TransportError, error_from
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
    return response.is_error and response.status_code not in call.final


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
            return call.read(response)
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
            return call.read(response)
        finally:
            await response.aclose()
