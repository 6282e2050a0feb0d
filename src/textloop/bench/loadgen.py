"""A closed-loop load generator: N users, each sending its next request when the last returns.

Closed loop means the offered load adapts to the server: at concurrency N there are always N
requests in flight, so throughput and latency are the server's own at that level rather than an
artefact of a fixed arrival rate. Each user keeps one keep-alive connection (reconnecting, and
counting an error, when it breaks) and walks the texts from its own offset. The first second, or
the first ``WARMUP_REQUESTS`` answers if they come sooner, warms caches and is not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import numpy as np

from textloop.bench.wire import ProtocolError, classify_request, read_response
from textloop.errors import InvalidRequest, TextloopError

WARMUP_SECONDS = 1.0
WARMUP_REQUESTS = 100
REQUEST_TIMEOUT = 30.0  # a request this slow counts as an error and its connection is dropped
PROBE_TIMEOUT = 120.0  # the first request may load the model
RECONNECT_PAUSE = 0.05  # after a failed connect, so a dead server is not hammered in a busy loop
TRANSPORT_ERRORS = (OSError, EOFError, ProtocolError, asyncio.LimitOverrunError, TimeoutError)


@dataclass(frozen=True)
class Target:
    """Where the load goes: a plain-HTTP server, a classifier on it and a key with ``classify``."""

    host: str
    port: int
    classifier: str
    api_key: str

    @classmethod
    def from_url(cls, url: str, classifier: str, api_key: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or parts.path.strip("/"):
            raise InvalidRequest(
                f"--url must look like http://HOST:PORT (plain HTTP, no path), not {url!r}",
                field="url",
            )
        return cls(parts.hostname, parts.port or 80, classifier, api_key)

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class LoadResult:
    """One measured phase. ``errors`` counts non-200 answers and broken connections alike;
    ``throughput`` and the latency percentiles are of successful requests only."""

    concurrency: int
    requests: int
    errors: int
    elapsed: float
    throughput: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


def summarize(
    concurrency: int, latencies: Sequence[float], errors: int, elapsed: float
) -> LoadResult:
    """Turn successful requests' latencies (seconds) and the error count into a result."""
    p50, p95, p99 = latency_percentiles(latencies)
    return LoadResult(
        concurrency=concurrency,
        requests=len(latencies) + errors,
        errors=errors,
        elapsed=elapsed,
        throughput=len(latencies) / elapsed if elapsed > 0 else 0.0,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
    )


def latency_percentiles(
    latencies: Sequence[float],
) -> tuple[float | None, float | None, float | None]:
    """p50, p95 and p99 in milliseconds (linear interpolation); None when nothing succeeded."""
    if not latencies:
        return None, None, None
    p50, p95, p99 = np.percentile(np.asarray(latencies) * 1000.0, [50, 95, 99])
    return float(p50), float(p95), float(p99)


def probe(target: Target, text: str) -> None:
    """Send one request first, so that a wrong key or classifier is one clear error rather
    than a table of failures; it also loads the model before anything is timed."""
    connection = http.client.HTTPConnection(target.host, target.port, timeout=PROBE_TIMEOUT)
    try:
        connection.request(
            "POST",
            f"/v1/classifiers/{quote(target.classifier, safe='')}/classify",
            body=json.dumps({"text": text}),
            headers={"X-API-Key": target.api_key, "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        status, body = response.status, response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise TextloopError(f"cannot reach the server at {target.authority}: {exc}") from None
    finally:
        connection.close()
    if status != 200:
        raise TextloopError(f"the server answered {status} to a first request: {_message(body)}")


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", errors="replace") or "(empty body)"


def run_load(
    target: Target,
    texts: Sequence[str],
    concurrency: int,
    duration: float,
    on_measure: Callable[[], None] | None = None,
) -> LoadResult:
    """Drive ``target`` with ``concurrency`` users for a warm-up and then ``duration`` seconds.

    ``on_measure`` is called the moment counting starts, so that whoever samples the server
    measures the same span. uvloop runs the users when installed: it costs the client less CPU.
    """
    if concurrency < 1 or duration <= 0 or not texts:
        raise ValueError("need concurrency >= 1, duration > 0 and at least one text")
    requests = [
        classify_request(target.authority, target.classifier, target.api_key, t) for t in texts
    ]
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(_drive(target, requests, concurrency, duration, on_measure))


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's, where it is installed: it costs the client core less per request."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


@dataclass
class _Phase:
    """The clock all users share: warm-up until ``begin``, then ``duration`` seconds counted."""

    duration: float
    on_measure: Callable[[], None] | None
    measure_from: float | None = None
    deadline: float = math.inf
    warm_answers: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    def begin(self) -> None:
        if self.measure_from is None:
            if self.on_measure is not None:
                self.on_measure()
            self.measure_from = time.perf_counter()
            self.deadline = self.measure_from + self.duration

    def record(self, measured: bool, ok: bool, seconds: float) -> None:
        if not measured:
            self.warm_answers += 1
            if self.warm_answers >= WARMUP_REQUESTS:
                self.begin()
        elif ok:
            self.latencies.append(seconds)
        else:
            self.errors += 1


async def _drive(
    target: Target,
    requests: list[bytes],
    concurrency: int,
    duration: float,
    on_measure: Callable[[], None] | None,
) -> LoadResult:
    phase = _Phase(duration, on_measure)
    timer = asyncio.get_running_loop().call_later(WARMUP_SECONDS, phase.begin)
    offsets = [user * len(requests) // concurrency for user in range(concurrency)]
    try:
        await asyncio.gather(*(_user(target, requests, offset, phase) for offset in offsets))
    finally:
        timer.cancel()
    assert phase.measure_from is not None  # the deadline is infinite until counting begins
    elapsed = time.perf_counter() - phase.measure_from
    return summarize(concurrency, phase.latencies, phase.errors, elapsed)


async def _user(target: Target, requests: list[bytes], position: int, phase: _Phase) -> None:
    """One closed-loop user: send, wait for the whole answer, record, repeat until the deadline."""
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    try:
        while (started := time.perf_counter()) < phase.deadline:
            measured = phase.measure_from is not None
            payload = requests[position % len(requests)]
            position += 1
            ok = False
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    if connection is None:
                        connection = await connect(target.host, target.port)
                    reader, writer = connection
                    writer.write(payload)  # one small write per answer read: no drain needed
                    response = await read_response(reader)
                ok = response.status == 200
                if not response.keeps_alive:
                    close(connection)
                    connection = None
            except TRANSPORT_ERRORS:
                close(connection)
                connection = None
            phase.record(measured, ok, time.perf_counter() - started)
    finally:
        close(connection)


async def connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the server; after a refusal, a pause first, so that a dead server is not
    hammered in a busy loop (the benchmarks' restarted servers)."""
    try:
        return await asyncio.open_connection(host, port)
    except OSError:
        await asyncio.sleep(RECONNECT_PAUSE)
        raise


def close(connection: tuple[Any, asyncio.StreamWriter] | None) -> None:
    if connection is not None:
        with contextlib.suppress(Exception):
            connection[1].close()
