"""Flat-out classify with a trickle of everything else, against a server killed midway.

The question an operator asks of a busy server: while classify runs as fast as the server
answers, do the requests that do not classify (probes, feedback, review, the portal, admin)
stay fast, does the prediction writer keep up, and is nothing acknowledged lost to a SIGKILL?
Two phases, one after the other, on the same server:

* The baseline (``--baseline-seconds``; 0 skips it): the trickle and the sampler alone, each
  kind timed exactly as under the flood, for each kind's latency without the flood to set beside
  its latency with it. The feedback trickle needs predictions to report on, so one classify
  client sends a request every ``BASELINE_CLASSIFY_PERIOD`` seconds (timed as ``classify``, on
  the flood's raw client): the one classify load of this phase.
* The flood (``--duration`` seconds, the SIGKILL at ``--kill-at`` from its start): the
  following, all at once.

* The classify flood: ``--concurrency`` closed-loop users on the raw HTTP/1.1 client of
  ``textloop.bench.wire`` (each request encoded once and replayed as bytes), so that one client
  core keeps a server core busy. Every answer's ``prediction_id`` is cut out of the body without
  decoding the JSON, so the audit gets all of them. A 503 ``storage_behind`` is counted apart
  (never acknowledged, so never lost) and its ``Retry-After`` is honoured, as a client should.
* The trickle: httpx clients, each at a fixed rate (a slow answer delays the next request,
  never doubles it): ``/healthz`` and ``/readyz``, feedback on a recent prediction (half of
  them the newest answer, likely not stored yet), reviewers claiming and deciding over the
  API, one reviewer signed in to the portal, and an admin listing classifiers.
* The sampler: ``/readyz``'s ``predictions`` and ``/metrics``'s
  ``textloop_predictions_stored_total`` twice a second, for the writer's rows per second and
  the queue's lag next to classify's rate.

Every acknowledged prediction, feedback and decision of both phases goes to the audit. All
times are ``time.monotonic()``, the clock ``load.Server`` reports the kill and restart on.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import re
import resource
import subprocess
import time
from array import array
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from textloop.bench.loadgen import (
    REQUEST_TIMEOUT,
    TRANSPORT_ERRORS,
    close,
    connect,
    loop_factory,
)
from textloop.bench.server_stats import cpu_seconds
from textloop.bench.wire import Response, classify_request, read_response

CLASSIFY = "/v1/classifiers/bench/classify"
RATES = {  # requests a second of each trickle client; the sampler adds 2/s of readyz and metrics
    "healthz": 5.0,
    "readyz": 3.0,
    "feedback": 5.0,
    "claim": 2.0,
    "portal": 2.0,
    "admin": 1.0,
}
SAMPLE_SECONDS = 0.5
BASELINE_CLASSIFY_PERIOD = 0.1  # seconds between the baseline's classify requests
RECENT = 512  # classify answers kept for feedback to pick from
PORTAL_PASSWORD = "a long enough password"  # as load.prepare creates the reviewers
ID_KEY = b'"prediction_id":"'
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STORED = re.compile(r'^textloop_predictions_stored_total\{pid="(\d+)"\} (\S+)$', re.MULTILINE)


class Restartable(Protocol):
    """What the run needs of ``load.Server``."""

    url: str
    port: int
    process: subprocess.Popen[bytes] | None

    def kill(self) -> float: ...

    def start(self) -> float: ...


@dataclass
class Timings:
    """One kind's requests, in arrays: the flood makes hundreds of thousands of them."""

    starts: array[float] = field(default_factory=lambda: array("d"))
    ends: array[float] = field(default_factory=lambda: array("d"))
    statuses: array[int] = field(default_factory=lambda: array("H"))  # 0: no answer

    def add(self, start: float, end: float, status: int) -> None:
        self.starts.append(start)
        self.ends.append(end)
        self.statuses.append(status)


@dataclass(frozen=True)
class LagSample:
    at: float
    queued: float | None  # from /readyz; None when it did not answer
    oldest_seconds: float | None
    limit: float | None
    pid: str | None  # from /metrics: whose writer stored ``stored`` rows since it started
    stored: float | None


@dataclass
class Run:
    """What the server acknowledged (in both phases), how long everything took (apart by phase),
    and what went wrong when."""

    alone: defaultdict[str, Timings] = field(default_factory=lambda: defaultdict(Timings))
    under_flood: defaultdict[str, Timings] = field(default_factory=lambda: defaultdict(Timings))
    timings: defaultdict[str, Timings] = field(init=False)  # the phase's: ``alone`` until the
    # flood starts (the portal sign-in included), then ``under_flood``
    failures: list[tuple[float, str, str]] = field(default_factory=list)  # (time, kind, what)
    refusals: Counter[str] = field(default_factory=Counter)  # answers the targets allow
    predictions: list[str] = field(default_factory=list)
    feedback: list[str] = field(default_factory=list)
    decisions: list[tuple[str, str]] = field(default_factory=list)  # (task id, reviewer)
    recent: deque[bytes] = field(default_factory=lambda: deque(maxlen=RECENT))
    lag: list[LagSample] = field(default_factory=list)  # the flood phase's
    baseline_started: float = 0.0
    started: float = 0.0  # the flood's start
    window: tuple[float, float] = (0.0, 0.0)  # the kill, and the new server answering + grace
    server_cpu_seconds: float = 0.0  # both servers' in the flood (the killed one's to the kill)
    client_cpu_seconds: float = 0.0  # this process's in the flood, every thread
    load_average: float = 0.0  # the machine's, before either phase: others' work skews them

    def __post_init__(self) -> None:
        self.timings = self.alone

    def failed(self, kind: str, what: str) -> None:
        self.failures.append((time.monotonic(), kind, what))


def run_flat_out(
    args: argparse.Namespace,
    server: Restartable,
    keys: dict[str, Any],
    data: dict[str, Any],
    grace: float,
) -> Run:
    """The baseline for ``args.baseline_seconds``, then the flood for ``args.duration`` seconds,
    killing the server ``args.kill_at`` seconds into it; uvloop runs the clients when installed
    (it costs the client core less)."""
    run = Run()
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(_drive(args, server, keys, data, run, grace))
    return run


async def _drive(
    args: argparse.Namespace,
    server: Restartable,
    keys: dict[str, Any],
    data: dict[str, Any],
    run: Run,
    grace: float,
) -> None:
    authority = f"127.0.0.1:{server.port}"
    requests = [classify_request(authority, "bench", keys["app"], t) for t in data["texts"]]
    rng = random.Random(7)
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=30) as http,
        httpx.AsyncClient(base_url=server.url, timeout=30, follow_redirects=True) as portal,
    ):
        run.load_average = os.getloadavg()[0]
        reviewer, _ = next(iter(keys["reviewers"].items()))
        await sign_in(portal, reviewer, run)
        steps = trickles(http, portal, keys, data["labels"], run, rng)
        run.baseline_started = time.monotonic()
        if args.baseline_seconds > 0:
            until = run.baseline_started + args.baseline_seconds
            print(f"baseline: the trickle alone for {args.baseline_seconds:g} s", flush=True)
            await asyncio.gather(
                classify_user(server.port, requests, 0, run, until, BASELINE_CLASSIFY_PERIOD),
                *(every(RATES[kind], until, step) for kind, step in steps.items()),
                every(1 / SAMPLE_SECONDS, until, sampler(http, keys["metrics"], run, [])),
            )
        run.timings = run.under_flood
        run.started, client_cpu = time.monotonic(), _own_cpu_seconds()
        run.server_cpu_seconds = -_cpu_seconds(server)  # the server's from here on
        print(f"flood: {args.concurrency} classify users for {args.duration:g} s", flush=True)
        until = run.started + args.duration
        offsets = [user * len(requests) // args.concurrency for user in range(args.concurrency)]
        tasks = [
            asyncio.create_task(classify_user(server.port, requests, offset, run, until))
            for offset in offsets
        ]
        tasks += [
            asyncio.create_task(every(RATES[kind], until, step)) for kind, step in steps.items()
        ]
        sample = sampler(http, keys["metrics"], run, run.lag)
        tasks.append(asyncio.create_task(every(1 / SAMPLE_SECONDS, until, sample)))
        await asyncio.sleep(max(0.0, run.started + args.kill_at - time.monotonic()))
        run.server_cpu_seconds += _cpu_seconds(server)
        killed = await asyncio.to_thread(server.kill)
        print(f"killed the server (SIGKILL) at {killed - run.started:.1f} s", flush=True)
        ready = await asyncio.to_thread(server.start)
        print(f"restarted and ready {ready - killed:.2f} s later", flush=True)
        run.window = (killed, ready + grace)
        await asyncio.gather(*tasks)
    run.server_cpu_seconds += _cpu_seconds(server)
    run.client_cpu_seconds = _own_cpu_seconds() - client_cpu


def _cpu_seconds(server: Restartable) -> float:
    return cpu_seconds(server.process.pid) if server.process is not None else 0.0


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def every(rate: float, until: float, step: Callable[[], Awaitable[None]]) -> None:
    """``step`` ``rate`` times a second until ``until``; one slower than its period delays the
    next (there is one request in flight per client), and no burst makes up for it."""
    period, due = 1.0 / rate, time.monotonic()
    while due < until:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        await step()
        due = max(due + period, time.monotonic())


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def classify_user(
    port: int, requests: list[bytes], position: int, run: Run, until: float, period: float = 0.0
) -> None:
    """One classify user on one keep-alive connection, reconnecting when it breaks: closed-loop
    (the flood's), or with ``period`` one request every ``period`` seconds, paced as ``every``
    paces (the baseline's)."""
    timings = run.timings["classify"]
    connection: Connection | None = None
    due = time.monotonic()
    try:
        while due < until:
            if period:
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            connection = await _classify(
                port, requests[position % len(requests)], connection, run, timings
            )
            position += 1
            due = max(due + period, time.monotonic())
    finally:
        close(connection)


async def _classify(
    port: int, payload: bytes, connection: Connection | None, run: Run, timings: Timings
) -> Connection | None:
    """One classify request, timed; the connection to send the next one on (None: reconnect)."""
    start = time.monotonic()
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            if connection is None:
                connection = await connect("127.0.0.1", port)
            reader, writer = connection
            writer.write(payload)  # one small write per answer read: no drain needed
            response = await read_response(reader)
    except TRANSPORT_ERRORS as exc:
        close(connection)
        timings.add(start, time.monotonic(), 0)
        run.failed("classify", type(exc).__name__)
        return None
    timings.add(start, time.monotonic(), response.status)
    await _classified(response, run)
    if not response.keeps_alive:
        close(connection)
        return None
    return connection


async def _classified(response: Response, run: Run) -> None:
    if response.status == 200:
        run.predictions.append(prediction_id(response.body))
        run.recent.append(response.body)
    elif response.status == 503 and b"storage_behind" in response.body:
        run.refusals["classify 503 storage_behind"] += 1
        await asyncio.sleep(float(response.headers.get("retry-after", "1")))
    else:
        run.failed("classify", f"HTTP {response.status}: {response.body[:200]!r}")


def prediction_id(body: bytes) -> str:
    """The answer's ``prediction_id``, cut out of the body (decoding all of it, scores for every
    label included, would cost the client core more than the request does)."""
    at = body.find(ID_KEY)
    if at < 0:
        return str(json.loads(body)["prediction_id"])
    start = at + len(ID_KEY)
    return body[start : body.index(b'"', start)].decode()


async def timed(
    run: Run, kind: str, send: Callable[[], Awaitable[httpx.Response]], expected: set[int]
) -> httpx.Response | None:
    """Send one trickle request, record how long it took; a failure is recorded with its
    moment (the restart window decides whether it counts). None when nothing was answered."""
    start = time.monotonic()
    try:
        answer = await send()
    except httpx.HTTPError as exc:
        run.timings[kind].add(start, time.monotonic(), 0)
        run.failed(kind, type(exc).__name__)
        return None
    run.timings[kind].add(start, time.monotonic(), answer.status_code)
    if answer.status_code not in expected:
        run.failed(kind, f"HTTP {answer.status_code}: {answer.text[:200]}")
    return answer


def trickles(
    http: httpx.AsyncClient,
    portal: httpx.AsyncClient,
    keys: dict[str, Any],
    labels: list[str],
    run: Run,
    rng: random.Random,
) -> dict[str, Callable[[], Awaitable[None]]]:
    """One step per trickle client, by the name of its rate in ``RATES``."""
    admin = {"x-api-key": keys["admin"]}
    reviewers = list(keys["reviewers"].items())
    claims, views = itertools.count(), itertools.count()

    async def healthz() -> None:
        await timed(run, "healthz", lambda: http.get("/healthz"), {200})

    async def readyz() -> None:
        await ready(http, run)

    async def feedback() -> None:
        await report_wrong(http, keys["app"], labels, run, rng)

    async def claim() -> None:
        email, key = reviewers[next(claims) % len(reviewers)]
        await review(http, email, key, run)

    async def pages() -> None:
        await browse(portal, reviewers[0][0], next(views) % 2 == 0, run)

    async def classifiers() -> None:
        await timed(run, "admin", lambda: http.get("/v1/classifiers", headers=admin), {200})

    steps = [healthz, readyz, feedback, claim, pages, classifiers]
    return dict(zip(RATES, steps, strict=True))


async def ready(http: httpx.AsyncClient, run: Run) -> dict[str, Any] | None:
    """``/readyz``'s ``predictions``; a 503 that says why is the probe doing its job (counted
    apart), one without a body is a failure."""
    answer = await timed(run, "readyz", lambda: http.get("/readyz"), {200, 503})
    if answer is None:
        return None
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code == 503:
        if "error" not in body:
            run.failed("readyz", f"HTTP 503: {answer.text[:200]}")
        run.refusals["readyz 503 not ready"] += 1
    lag = body.get("predictions")
    return lag if isinstance(lag, dict) else None


async def report_wrong(
    http: httpx.AsyncClient, key: str, labels: list[str], run: Run, rng: random.Random
) -> None:
    """Feedback that a recent prediction was wrong: the newest answer (likely still queued, so
    the request waits for it; timed again as ``feedback_on_newest``) or one from the last few
    hundred. Each is reported once."""
    if not run.recent:
        return
    newest = rng.random() < 0.5
    index = len(run.recent) - 1 if newest else rng.randrange(len(run.recent))
    answer = json.loads(run.recent[index])
    del run.recent[index]
    wrong = rng.choice([label for label in labels if label != answer["label"]])
    body = {"prediction_id": answer["prediction_id"], "label": wrong}
    url = "/v1/classifiers/bench/feedback"
    reported = await timed(
        run, "feedback", lambda: http.post(url, json=body, headers={"x-api-key": key}), {201}
    )
    if reported is not None and reported.status_code == 201:
        run.feedback.append(reported.json()["feedback_id"])
    if newest:  # also apart: what waiting for a prediction not stored yet costs
        timings = run.timings["feedback"]
        last = timings.starts[-1], timings.ends[-1], timings.statuses[-1]
        run.timings["feedback_on_newest"].add(*last)


async def review(http: httpx.AsyncClient, email: str, key: str, run: Run) -> None:
    """A reviewer claims the next task over the API and, when there is one, decides it."""
    headers = {"x-api-key": key}
    url = "/v1/classifiers/bench/review/claim"
    claimed = await timed(run, "claim", lambda: http.post(url, headers=headers), {200, 204})
    if claimed is None or claimed.status_code != 200:
        return
    task = claimed.json()
    body = {"label": task["reported_label"] or task["suggested_label"] or "skip"}
    decision = f"/v1/review/tasks/{task['id']}/decision"
    decided = await timed(
        run, "decision", lambda: http.post(decision, json=body, headers=headers), {200}
    )
    if decided is not None and decided.status_code == 200:
        run.decisions.append((task["id"], email))


async def sign_in(portal: httpx.AsyncClient, email: str, run: Run) -> None:
    """Sign ``email`` in to the portal as a browser does: the form (and its CSRF cookie), then
    the POST; the session cookie stays in ``portal``'s jar."""
    form = await timed(run, "portal_login", lambda: portal.get("/login"), {200})
    token = CSRF.search(form.text) if form is not None else None
    if token is None:
        raise SystemExit("the portal's login page has no csrf_token field")
    fields = {"csrf_token": token.group(1), "email": email, "password": PORTAL_PASSWORD}
    done = await timed(run, "portal_login", lambda: portal.post("/login", data=fields), {200})
    if done is None or done.url.path != "/":
        raise SystemExit(f"signing {email} in to the portal failed; see the server log")


async def browse(portal: httpx.AsyncClient, email: str, queues: bool, run: Run) -> None:
    """The queues page, or the next task (a claim, and the task page it redirects to). A page
    that lands on the login form means the session was lost: a failure, then sign in again."""
    kind, path = ("portal_queues", "/") if queues else ("portal_next", "/queues/bench/next")
    page = await timed(run, kind, lambda: portal.get(path), {200})
    if page is not None and page.url.path == "/login":
        run.failed(kind, "signed out: the portal answered with the login page")
        await sign_in(portal, email, run)


def sampler(
    http: httpx.AsyncClient, key: str, run: Run, samples: list[LagSample]
) -> Callable[[], Awaitable[None]]:
    """One sample of the queue's lag (``/readyz``) and the writer's stored rows (``/metrics``),
    added to ``samples`` (the baseline's are timed, and then dropped)."""
    headers = {"x-api-key": key}

    async def sample() -> None:
        lag = await ready(http, run)
        scrape = await timed(run, "metrics", lambda: http.get("/metrics", headers=headers), {200})
        stored = STORED.search(scrape.text) if scrape is not None else None
        samples.append(
            LagSample(
                at=time.monotonic(),
                queued=lag.get("queued") if lag else None,
                oldest_seconds=lag.get("oldest_seconds") if lag else None,
                limit=lag.get("limit") if lag else None,
                pid=stored.group(1) if stored else None,
                stored=float(stored.group(2)) if stored else None,
            )
        )

    return sample
