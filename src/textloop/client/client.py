"""``Client`` and ``AsyncClient``: one pooled HTTP connection set to a textloop server, and the
API's resources as typed methods grouped by resource (``client.models.train(...)``).

Both are built from the same resource groups (``resources``): each method is written once and
names the route it calls, and the blocking client answers it while the async client awaits it.
Only the helpers that loop (``classify_many``, ``wait``, ``events.iterate``) are written for
each. Close a client (or use it in a ``with`` block) to release its connections.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import httpx

from textloop import __version__
from textloop.client.resources.batch import AsyncBatchJobs, SyncBatchJobs
from textloop.client.resources.classify import MAX_BATCH, Classifying, batches
from textloop.client.resources.lifecycle import Classifiers, Datasets, Deployments, Models
from textloop.client.resources.loop import AsyncEvents, AsyncJobs, SyncEvents, SyncJobs, Webhooks
from textloop.client.resources.operations import Audit, Health, Lineage, Monitoring, Runs, Usage
from textloop.client.resources.review import FeedbackGroup, Pool, Review
from textloop.client.routes import Async, Mode, Runner, Sync
from textloop.client.runner import AsyncRunner, Timeouts
from textloop.client.runner import Runner as SyncRunner
from textloop.client.schemas import Prediction
from textloop.client.transport import AsyncTransport, OnRetry, RetryPolicy, Transport


def _pool(
    url: str,
    api_key: str | None,
    headers: Mapping[str, str] | None,
    timeout: float,
    connect_timeout: float,
    max_connections: int,
    verify: ssl.SSLContext | bool,
) -> dict[str, Any]:
    """What the blocking and the async client give their ``httpx`` client alike."""
    return {
        "base_url": url,
        "headers": _headers(api_key, headers),
        "timeout": httpx.Timeout(timeout, connect=connect_timeout),
        "limits": httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        "verify": verify,
        # Redirects are never followed: a 3xx is raised as an ApiError naming its Location.
        "follow_redirects": False,
    }


def _headers(api_key: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    headers = {"User-Agent": f"textloop-client/{__version__}", "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers | dict(extra or {})


def _timeouts(timeout: float, slow_timeout: float, connect_timeout: float) -> Timeouts:
    return Timeouts(
        httpx.Timeout(timeout, connect=connect_timeout),
        httpx.Timeout(slow_timeout, connect=connect_timeout),
    )


class _Groups(Classifying[Mode]):
    """The resource groups, the same in both clients (the ones with looping helpers aside)."""

    classifiers: Classifiers[Mode]
    datasets: Datasets[Mode]
    models: Models[Mode]
    deployments: Deployments[Mode]
    feedback: FeedbackGroup[Mode]
    review: Review[Mode]
    pool: Pool[Mode]
    webhooks: Webhooks[Mode]
    runs: Runs[Mode]
    lineage: Lineage[Mode]
    monitoring: Monitoring[Mode]
    usage: Usage[Mode]
    audit: Audit[Mode]
    health: Health[Mode]

    def _attach(self, runner: Runner) -> None:
        self.classifiers = Classifiers(runner)
        self.datasets = Datasets(runner)
        self.models = Models(runner)
        self.deployments = Deployments(runner)
        self.feedback = FeedbackGroup(runner)
        self.review = Review(runner)
        self.pool = Pool(runner)
        self.webhooks = Webhooks(runner)
        self.runs = Runs(runner)
        self.lineage = Lineage(runner)
        self.monitoring = Monitoring(runner)
        self.usage = Usage(runner)
        self.audit = Audit(runner)
        self.health = Health(runner)


class Client(_Groups[Sync]):
    """A blocking client of one textloop server; safe to share between threads.

    ``url`` is the server's base URL (``http://127.0.0.1:8000``); ``api_key`` is sent as a
    bearer token. ``timeout`` bounds each call's connecting, sending and each wait for data;
    ``slow_timeout`` replaces it for the calls that train or deploy before answering.
    ``retry`` says when a failed call is sent again (see ``RetryPolicy``); ``on_retry`` is told
    of each retry before its wait. ``transport`` replaces the network (``httpx.MockTransport``
    in tests).
    """

    batch_jobs: SyncBatchJobs
    jobs: SyncJobs
    events: SyncEvents

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        slow_timeout: float = 3600.0,
        connect_timeout: float = 5.0,
        retry: RetryPolicy | None = None,
        on_retry: OnRetry | None = None,
        max_connections: int = 20,
        headers: Mapping[str, str] | None = None,
        verify: ssl.SSLContext | bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self.http = httpx.Client(
            **_pool(url, api_key, headers, timeout, connect_timeout, max_connections, verify),
            transport=transport,
        )
        runner = SyncRunner(
            Transport(self.http, retry or RetryPolicy(), on_retry),
            _timeouts(timeout, slow_timeout, connect_timeout),
        )
        super().__init__(runner)
        self._attach(runner)
        self.batch_jobs = SyncBatchJobs(runner)
        self.jobs = SyncJobs(runner)
        self.events = SyncEvents(runner)

    def classify_many(
        self,
        classifier: str,
        texts: Sequence[str],
        *,
        top_k: int | None = None,
        alias: str | None = None,
        batch_size: int = MAX_BATCH,
    ) -> list[Prediction]:
        """The predictions of any number of texts, in order, sent ``batch_size`` (at most 256,
        the API's limit) to a request."""
        predictions: list[Prediction] = []
        for batch in batches(texts, batch_size):
            predictions += self._classify_batch(classifier, batch, top_k=top_k, alias=alias)
        return predictions

    def close(self) -> None:
        """Close the pooled connections."""
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.url!r})"


class AsyncClient(_Groups[Async]):
    """``Client`` for asyncio: the same groups and methods, each a coroutine function; the
    looping helpers (``wait``, ``events.iterate``, ``classify_many``) are async too. Use it in
    an ``async with`` block, or ``await client.aclose()``."""

    batch_jobs: AsyncBatchJobs
    jobs: AsyncJobs
    events: AsyncEvents

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        slow_timeout: float = 3600.0,
        connect_timeout: float = 5.0,
        retry: RetryPolicy | None = None,
        on_retry: OnRetry | None = None,
        max_connections: int = 20,
        headers: Mapping[str, str] | None = None,
        verify: ssl.SSLContext | bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.http = httpx.AsyncClient(
            **_pool(url, api_key, headers, timeout, connect_timeout, max_connections, verify),
            transport=transport,
        )
        runner = AsyncRunner(
            AsyncTransport(self.http, retry or RetryPolicy(), on_retry),
            _timeouts(timeout, slow_timeout, connect_timeout),
        )
        super().__init__(runner)
        self._attach(runner)
        self.batch_jobs = AsyncBatchJobs(runner)
        self.jobs = AsyncJobs(runner)
        self.events = AsyncEvents(runner)

    async def classify_many(
        self,
        classifier: str,
        texts: Sequence[str],
        *,
        top_k: int | None = None,
        alias: str | None = None,
        batch_size: int = MAX_BATCH,
    ) -> list[Prediction]:
        """As the blocking client's ``classify_many``; the batches are sent one after another."""
        predictions: list[Prediction] = []
        for batch in batches(texts, batch_size):
            predictions += await self._classify_batch(classifier, batch, top_k=top_k, alias=alias)
        return predictions

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncClient({self.url!r})"


__all__ = ["AsyncClient", "Client"]
