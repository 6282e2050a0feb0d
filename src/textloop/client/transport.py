"""Sending one request with retries: which failures are worth another attempt, how long to wait
before it, and the loop that does it, blocking (``Transport``) and async (``AsyncTransport``).

A request is sent again only when that cannot do harm or change the answer's meaning:

- a **429 or 503** answer: the server refused before doing anything (a usage plan's rate, a full
  connection table, an artifact store that did not answer), so any method may be resent. The wait
  is the answer's ``Retry-After`` when it has one; a ``Retry-After`` longer than
  ``max_retry_after`` (a monthly quota spent until next month) is not waited for: the error is
  raised at once.
- a **connection that could not be made** (refused, or timed out connecting, or no free
  connection in the pool): nothing was sent.
- a **connection that broke or timed out after the request left**, only for a request that may
  run twice: ``GET``, ``HEAD``, ``PUT``, ``DELETE``, or one that carries an ``Idempotency-Key``
  (the server then answers a resend with the first answer). A plain ``POST`` is never resent
  then: the server may have acted on it.

Without ``Retry-After`` the waits grow exponentially (``backoff``, doubling, at most
``max_backoff``) with jitter, so that many clients refused at once do not return at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from textloop.client.errors import TransportError, retry_after_seconds

log = logging.getLogger("textloop.client")

REPLAYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Failures worth another attempt: the network, a timeout, a connection the server closed early.
TRANSIENT = (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError)
# Of those, the ones before the request left: resending cannot repeat anything.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a request gets and how long the client waits between them."""

    max_attempts: int = 4  # the first attempt included; 1 turns retries off
    backoff: float = 0.5  # seconds before the second attempt when the server named no wait
    max_backoff: float = 8.0
    max_retry_after: float = 60.0  # a longer Retry-After is raised, not waited for
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 503}))

    def backoff_delay(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (1-based): exponential, and between
        half and all of it at random ("equal jitter")."""
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def answer_delay(self, attempt: int, response: httpx.Response) -> float | None:
        """The wait before resending after this answer, or None when it is final. A 409 saying
        that the first send of the same idempotent request is still running is waited out
        too: the resend then gets the first send's answer."""
        retried = response.status_code in self.statuses or still_running(response)
        if not retried or attempt >= self.max_attempts:
            return None
        named = retry_after_seconds(response.headers.get("retry-after"))
        if named is None:
            return self.backoff_delay(attempt)
        if named > self.max_retry_after:
            return None
        return named + random.uniform(0, min(0.25, named / 10))  # at least what was asked

    def failure_delay(self, attempt: int, error: httpx.TransportError, replayable: bool) -> float:
        """The wait before resending after a failed send; raises ``TransportError`` when the
        request may not, or need not, be sent again."""
        harmless = replayable or isinstance(error, NOT_SENT)
        if attempt >= self.max_attempts or not isinstance(error, TRANSIENT) or not harmless:
            raise TransportError(f"{type(error).__name__}: {error}") from error
        return self.backoff_delay(attempt)


def replayable(request: httpx.Request) -> bool:
    """Whether sending ``request`` twice does no harm once it may have reached the server."""
    return request.method in REPLAYABLE_METHODS or IDEMPOTENCY_HEADER in request.headers


@dataclass(frozen=True)
class Retry:
    """One retry about to happen, as ``on_retry`` callbacks (and the log) are told of it."""

    request: str  # "METHOD URL"
    attempt: int  # the attempt that failed, 1-based
    delay: float  # seconds the client now waits
    status: int | None = None  # the answer's status, or None when no answer came
    retry_after: float | None = None  # what the answer's Retry-After asked for
    error: str | None = None  # the transport failure, when no answer came


OnRetry = Callable[[Retry], None]


def _retry(
    request: httpx.Request,
    attempt: int,
    delay: float,
    response: httpx.Response | None = None,
    error: Exception | None = None,
) -> Retry:
    status = response.status_code if response is not None else None
    asked = retry_after_seconds(response.headers.get("retry-after")) if response else None
    retry = Retry(
        f"{request.method} {request.url}",
        attempt,
        delay,
        status,
        asked,
        f"{type(error).__name__}: {error}" if error else None,
    )
    log.info(
        "retrying %s in %.2f s after attempt %d: %s",
        retry.request,
        delay,
        attempt,
        retry.error or f"HTTP {status}",
    )
    return retry


def still_running(response: httpx.Response) -> bool:
    """A 409 ``idempotency_key_in_use`` to a request that carried an ``Idempotency-Key``."""
    if response.status_code != 409 or "idempotency-key" not in response.request.headers:
        return False
    try:
        return bool(response.json()["error"]["code"] == "idempotency_key_in_use")
    except (httpx.ResponseNotRead, ValueError, KeyError, TypeError):
        return False


class Transport:
    """Sends requests on a pooled ``httpx.Client``, retrying as the policy allows."""

    def __init__(
        self, http: httpx.Client, policy: RetryPolicy, on_retry: OnRetry | None = None
    ) -> None:
        self.http = http
        self.policy = policy
        self.on_retry = on_retry

    def send(
        self,
        build: Callable[[], httpx.Request],
        stream: bool = False,
        final: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """The answer to the request ``build`` makes (once per attempt: a file body is read
        again from its start); ``final`` statuses are answers, never retried."""
        attempt = 1
        while True:
            request = build()
            try:
                response = self.http.send(request, stream=stream)
            except httpx.TransportError as exc:
                delay = self.policy.failure_delay(attempt, exc, replayable(request))
                retry = _retry(request, attempt, delay, error=exc)
            else:
                later = (
                    None
                    if response.status_code in final
                    else self.policy.answer_delay(attempt, response)
                )
                if later is None:
                    return response
                response.close()
                retry = _retry(request, attempt, later, response)
            if self.on_retry is not None:
                self.on_retry(retry)
            time.sleep(retry.delay)
            attempt += 1


class AsyncTransport:
    """``Transport`` on an ``httpx.AsyncClient``: the same policy, waiting without blocking."""

    def __init__(
        self, http: httpx.AsyncClient, policy: RetryPolicy, on_retry: OnRetry | None = None
    ) -> None:
        self.http = http
        self.policy = policy
        self.on_retry = on_retry

    async def send(
        self,
        build: Callable[[], httpx.Request],
        stream: bool = False,
        final: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        attempt = 1
        while True:
            request = build()
            try:
                response = await self.http.send(request, stream=stream)
            except httpx.TransportError as exc:
                delay = self.policy.failure_delay(attempt, exc, replayable(request))
                retry = _retry(request, attempt, delay, error=exc)
            else:
                later = (
                    None
                    if response.status_code in final
                    else self.policy.answer_delay(attempt, response)
                )
                if later is None:
                    return response
                await response.aclose()
                retry = _retry(request, attempt, later, response)
            if self.on_retry is not None:
                self.on_retry(retry)
            await asyncio.sleep(retry.delay)
            attempt += 1
