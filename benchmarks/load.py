"""Mixed traffic against a real server that is killed (SIGKILL) and restarted midway.

What must hold: every acknowledged write (answered prediction, feedback, review decision,
upload) is in the database afterwards, nothing is stored twice, and no request fails outside the
restart window (from the kill until the new server answers, plus one second for clients to
reconnect).

Traffic on Banking77, for ``--duration`` seconds at ``--concurrency`` clients:

* application clients classify texts and report every fifth answer as wrong (feedback), which
  opens a review task;
* reviewers (``--reviewers``, each with a portal account and their own key) claim those tasks
  and decide them;
* one admin uploads a small CSV every couple of seconds with an ``Idempotency-Key``, resending
  the same file with the same key until it is acknowledged, and then once more (as a client
  whose answer was lost would): the resend must be answered from the first, not ingested again.

A share of the application requests (``--hostile``, 5 % by default) sends hostile texts: with a
NUL or a lone surrogate (classify or feedback; each must be refused with 422, never
acknowledged) or 10,000 characters long (accepted, and then stored like any other).

``--mode flat-out`` asks instead what an operator of a busy server asks (``_trickle``): with
the server pinned to ``--server-cpus`` and this process to ``--client-cpus``, first a baseline
of ``--baseline-seconds`` (0 skips it): a trickle of probes, feedback, review claims and
decisions, portal pages and admin calls, timed alone, with one classify request every 0.1 s
(timed as ``classify``) so that feedback has predictions to report on. Then the flood for
``--duration`` seconds: ``--concurrency`` clients classify as fast as they are answered while
the same trickle is timed again, and the prediction queue's lag and the writer's rows per
second are sampled; the same SIGKILL (``--kill-at`` from the flood's start) and audit, of both
phases' writes. The report (``_trickle_report``) gives each kind's latency alone, under the
flood and the ratio of the p99s; the targets apply to the figures under the flood.

``--database postgresql`` runs on a fresh database on the local PostgreSQL (127.0.0.1:5432,
user postgres), dropped afterwards; ``--database-url`` names one of your own instead.

Usage: python benchmarks/load.py [--duration 60] [--concurrency 16] [--reviewers 3]
                                 [--kill-at DURATION/2] [--hostile 0.05]
                                 [--database sqlite|postgresql | --database-url URL]
       python benchmarks/load.py --mode flat-out [--baseline-seconds 10] [--duration 60]
                                 [--concurrency 8] [--kill-at DURATION/2]
                                 [--server-cpus 0] [--client-cpus 1] [--database postgresql]
                                 [--prediction-queue-limit 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _cli import BANKING77, ingest_options, postgres_database, textloop
from _trickle import run_flat_out
from _trickle_report import report as report_flat_out
from sqlalchemy import func, select

from textloop.bench.cores import format_cores, parse_cores
from textloop.config import Settings
from textloop.store import open_store
from textloop.store.tables import DatasetVersion, Feedback, Prediction, ReviewDecision, User

READY_TIMEOUT = 120.0
RECONNECT_GRACE = 1.0  # seconds after the new server answers in which clients may still fail
UPLOAD_ROWS = 20
UPLOAD_URL = "/v1/classifiers/bench/datasets?label_column=category"


@dataclass
class Ledger:
    """What the server acknowledged, and every failure with the moment it happened."""

    predictions: list[str] = field(default_factory=list)
    feedback: list[str] = field(default_factory=list)
    decisions: list[tuple[str, str]] = field(default_factory=list)  # (task id, reviewer)
    uploads: dict[str, int] = field(default_factory=dict)  # idempotency key → dataset version
    replayed: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[float, str, str]] = field(default_factory=list)  # (time, op, what)

    def failed(self, op: str, what: str) -> None:
        self.failures.append((time.monotonic(), op, what))


class Server:
    """``textloop serve`` on a fixed port, so that a restarted server is where clients were."""

    def __init__(
        self, env: dict[str, str], port: int, log: Path, prefix: Sequence[str] = ()
    ) -> None:
        self.env, self.port, self.log = env, port, log
        self.prefix = list(prefix)  # e.g. ``taskset -c 0``: taskset execs, so the pid is the same
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        with self.log.open("a") as output:
            self.process = subprocess.Popen(
                [*self.prefix, sys.executable, "-m", "textloop", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited early; see {self.log}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return time.monotonic()
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"server not ready in {READY_TIMEOUT:.0f} s; see {self.log}")

    def kill(self) -> float:
        """SIGKILL the server; returns the moment before the signal, where the restart window
        starts (a request the kill breaks may fail before ``wait`` returns)."""
        assert self.process is not None
        killed = time.monotonic()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        return killed

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


HOSTILE = {
    # what a careless or hostile client sends, and what the server must answer
    "nul": (lambda text: f"{text} \x00 inside", 422),
    "lone surrogate": (lambda text: f"{text} \ud800", 422),
    "10,000 characters": (lambda text: (text + " ") * (10_000 // (len(text) + 1)), 200),
}


async def send_hostile(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    text: str,
    ledger: Ledger,
    rng: random.Random,
) -> str | None:
    """Send a hostile text to classify or to feedback; a text the server must accept is
    returned for the normal path (classify and maybe report it), else None."""
    kind = rng.choice(sorted(HOSTILE))
    make, expected = HOSTILE[kind]
    if expected == 200:
        ledger.requests[f"hostile: {kind}"] += 1
        return make(text)[:10_000]
    path = rng.choice(["/v1/classifiers/bench/classify", "/v1/classifiers/bench/feedback"])
    try:
        body = json.dumps({"text": make(text)})  # ASCII: a lone surrogate goes as "\\ud800"
        answer = await http.post(
            path, content=body, headers={**headers, "content-type": "application/json"}
        )
    except httpx.TransportError as exc:
        ledger.failed("hostile", type(exc).__name__)
        return None
    ledger.requests[f"hostile: {kind}"] += 1
    if answer.status_code != expected:
        ledger.failed("hostile", f"{kind} to {path}: HTTP {answer.status_code}, not {expected}")
    return None


async def application(
    http: httpx.AsyncClient,
    key: str,
    texts: list[str],
    labels: list[str],
    ledger: Ledger,
    until: float,
    rng: random.Random,
    hostile: float = 0.0,
) -> None:
    headers = {"x-api-key": key}
    while time.monotonic() < until:
        text = rng.choice(texts)
        if rng.random() < hostile:
            text = await send_hostile(http, headers, text, ledger, rng)
            if text is None:
                continue
        try:
            answer = await http.post(
                "/v1/classifiers/bench/classify", json={"text": text}, headers=headers
            )
        except httpx.TransportError as exc:
            ledger.failed("classify", type(exc).__name__)
            await asyncio.sleep(0.05)
            continue
        ledger.requests["classify"] += 1
        if answer.status_code != 200:
            ledger.failed("classify", f"HTTP {answer.status_code}: {answer.text[:200]}")
            continue
        prediction = answer.json()
        ledger.predictions.append(prediction["prediction_id"])
        if rng.random() >= 0.2:
            continue
        wrong = rng.choice([label for label in labels if label != prediction["label"]])
        body = {"prediction_id": prediction["prediction_id"], "label": wrong}
        try:
            reported = await http.post("/v1/classifiers/bench/feedback", json=body, headers=headers)
        except httpx.TransportError as exc:
            ledger.failed("feedback", type(exc).__name__)
            continue
        ledger.requests["feedback"] += 1
        if reported.status_code == 201:
            ledger.feedback.append(reported.json()["feedback_id"])
        else:
            ledger.failed("feedback", f"HTTP {reported.status_code}: {reported.text[:200]}")


async def reviewer(
    http: httpx.AsyncClient, email: str, key: str, ledger: Ledger, until: float
) -> None:
    headers = {"x-api-key": key}
    while time.monotonic() < until:
        try:
            claimed = await http.post("/v1/classifiers/bench/review/claim", headers=headers)
            ledger.requests["claim"] += 1
            if claimed.status_code == 204:
                await asyncio.sleep(0.2)
                continue
            if claimed.status_code != 200:
                ledger.failed("claim", f"HTTP {claimed.status_code}: {claimed.text[:200]}")
                continue
            task = claimed.json()
            label = task["reported_label"] or task["suggested_label"] or "skip"
            decided = await http.post(
                f"/v1/review/tasks/{task['id']}/decision", json={"label": label}, headers=headers
            )
        except httpx.TransportError as exc:
            ledger.failed("review", type(exc).__name__)
            await asyncio.sleep(0.05)
            continue
        ledger.requests["decision"] += 1
        if decided.status_code == 200:
            ledger.decisions.append((task["id"], email))
        else:
            ledger.failed("decision", f"HTTP {decided.status_code}: {decided.text[:200]}")


async def uploader(
    http: httpx.AsyncClient,
    key: str,
    rows: list[dict[str, str]],
    ledger: Ledger,
    until: float,
    rng: random.Random,
) -> None:
    while time.monotonic() < until:
        sample = rng.sample(rows, UPLOAD_ROWS)
        body = io.StringIO()
        writer = csv.DictWriter(body, fieldnames=["text", "category"])
        writer.writeheader()
        writer.writerows(sample)
        content = body.getvalue().encode()
        idempotency_key = uuid.uuid4().hex
        headers = {"x-api-key": key, "content-type": "text/csv", "idempotency-key": idempotency_key}
        while True:  # resend the same file with the same key until it is acknowledged
            try:
                answer = await http.post(UPLOAD_URL, content=content, headers=headers)
            except httpx.TransportError as exc:
                ledger.failed("upload", type(exc).__name__)
                await asyncio.sleep(0.2)
                continue
            ledger.requests["upload"] += 1
            if answer.status_code == 201:
                ledger.uploads[idempotency_key] = answer.json()["version"]
                break
            ledger.failed("upload", f"HTTP {answer.status_code}: {answer.text[:200]}")
            await asyncio.sleep(0.2)
        # As a client whose answer was lost would: the same file with the same key again.
        try:
            again = await http.post(UPLOAD_URL, content=content, headers=headers)
            ledger.requests["upload"] += 1
            same = (
                again.status_code == 201
                and again.json()["version"] == ledger.uploads[idempotency_key]
            )
            if same and again.headers.get("idempotent-replayed") == "true":
                ledger.replayed += 1
            elif not same:
                ledger.failed("upload", f"resend: HTTP {again.status_code}: {again.text[:200]}")
        except httpx.TransportError as exc:
            ledger.failed("upload", type(exc).__name__)
        await asyncio.sleep(2.0)


async def drive(
    args: argparse.Namespace,
    server: Server,
    keys: dict[str, Any],
    data: dict[str, Any],
    ledger: Ledger,
) -> tuple[float, float]:
    rng = random.Random(7)
    started = time.monotonic()
    until = started + args.duration
    limits = httpx.Limits(max_connections=args.concurrency * 2)
    async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as http:
        apps = args.concurrency - len(keys["reviewers"]) - 1
        tasks = [
            asyncio.create_task(
                application(
                    http,
                    keys["app"],
                    data["texts"],
                    data["labels"],
                    ledger,
                    until,
                    random.Random(rng.random()),
                    args.hostile,
                )
            )
            for _ in range(apps)
        ]
        tasks += [
            asyncio.create_task(reviewer(http, email, key, ledger, until))
            for email, key in keys["reviewers"].items()
        ]
        tasks.append(
            asyncio.create_task(uploader(http, keys["admin"], data["rows"], ledger, until, rng))
        )
        await asyncio.sleep(args.kill_at)
        killed = await asyncio.to_thread(server.kill)
        print(f"killed the server (SIGKILL) at {killed - started:.1f} s", flush=True)
        ready = await asyncio.to_thread(server.start)
        print(f"restarted and ready {ready - killed:.2f} s later", flush=True)
        await asyncio.gather(*tasks)
    return killed, ready + RECONNECT_GRACE


def prepare(env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    textloop(env, "train", "bench", "--model", args.model)
    textloop(env, "deploy", "bench")
    app, _ = textloop(env, "keys", "create", "--scopes", "classify,feedback", "--name", "load")
    admin, _ = textloop(env, "keys", "create", "--scopes", "admin", "--name", "load-admin")
    reviewers = {}
    for number in range(args.reviewers):
        email = f"reviewer{number}@example.com"
        subprocess.run(
            [sys.executable, "-m", "textloop", "users", "create", email, "--password-stdin"],
            input="a long enough password\n",
            env=env,
            text=True,
            capture_output=True,
            check=True,
        )
        key, _ = textloop(env, "keys", "create", "--scopes", "review", "--user", email)
        reviewers[email] = key["api_key"]
    return {"app": app["api_key"], "admin": admin["api_key"], "reviewers": reviewers}


def audit(settings: Settings, ledger: Ledger) -> dict[str, Any]:
    """Look every acknowledged write up in the database; count what is stored twice."""
    store = open_store(settings)
    try:
        with store.session() as session:
            stored = set()
            for start in range(0, len(ledger.predictions), 500):
                chunk = ledger.predictions[start : start + 500]
                stored |= set(
                    session.scalars(select(Prediction.id).where(Prediction.id.in_(chunk)))
                )
            feedback = set(session.scalars(select(Feedback.id)))
            emails = dict(session.execute(select(User.email, User.id)).all())
            decisions = set(
                session.execute(select(ReviewDecision.task_id, ReviewDecision.user_id)).all()
            )
            duplicate_feedback = session.scalar(
                select(func.count()).select_from(
                    select(Feedback.prediction_id)
                    .where(Feedback.prediction_id.is_not(None))
                    .group_by(Feedback.prediction_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
            versions = session.scalar(select(func.count()).select_from(DatasetVersion))
    finally:
        store.dispose()
    return {
        "lost_predictions": len(set(ledger.predictions) - stored),
        "lost_feedback": len(set(ledger.feedback) - feedback),
        "lost_decisions": sum(
            (task, emails[email]) not in decisions for task, email in ledger.decisions
        ),
        "duplicate_feedback": duplicate_feedback,
        # the ingested train file is version 1; every acknowledged upload adds exactly one
        "duplicate_uploads": versions - 1 - len(set(ledger.uploads.values())),
        "lost_uploads": len(ledger.uploads) - len(set(ledger.uploads.values())),
    }


def main() -> None:
    args = parse_args()
    if args.kill_at is None:
        args.kill_at = args.duration / 2
    if args.mode == "flat-out" and (args.reviewers < 1 or args.concurrency < 1):
        raise SystemExit("flat-out needs --reviewers and --concurrency of 1 or more")
    if args.baseline_seconds < 0:
        raise SystemExit("--baseline-seconds must be 0 (no baseline) or more")
    with open(args.data / "train.csv", newline="") as handle:
        rows = [
            {"text": r["text"], "category": r[args.label_column]} for r in csv.DictReader(handle)
        ]
    data = {
        "rows": rows,
        "texts": [r["text"] for r in rows],
        "labels": sorted({r["category"] for r in rows}),
    }
    with database_url(args) as url, tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTLOOP_")}
        env["TEXTLOOP_DATA_DIR"] = str(scratch / "data")
        if url:
            env["TEXTLOOP_DATABASE_URL"] = url
        if args.prediction_queue_limit is not None:
            env["TEXTLOOP_PREDICTION_QUEUE_LIMIT"] = str(args.prediction_queue_limit)
        textloop(env, "ingest", str(args.data / "train.csv"), "-c", "bench", *ingest_options(args))
        keys = prepare(env, args)
        settings = Settings.load(env["TEXTLOOP_DATA_DIR"], url)
        if args.mode == "flat-out":
            flat_out(args, env, keys, data, settings, scratch)
            return
        port = free_port()
        server = Server(env, port, scratch / "server.log")
        server.start()
        ledger = Ledger()
        try:
            window = asyncio.run(drive(args, server, keys, data, ledger))
        finally:
            server.stop()
        report(args, ledger, window, audit(settings, ledger))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["restart", "flat-out"], default="restart")
    parser.add_argument("--data", type=Path, default=BANKING77)
    parser.add_argument("--label-column", default="category")
    parser.add_argument("--model", default="ngram")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument(
        "--kill-at",
        type=float,
        default=None,
        help="seconds into the run (flat-out: into the flood); default: half the duration",
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--reviewers", type=int, default=3)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--database-url", default=None, help="overrides --database")
    parser.add_argument(
        "--hostile",
        type=float,
        default=0.05,
        help="share of application requests that send a hostile text (NUL, a lone surrogate, "
        "10,000 characters)",
    )
    parser.add_argument(
        "--prediction-queue-limit",
        type=int,
        default=None,
        help="the server's setting; a small one makes classify refuse with 503 storage_behind",
    )
    parser.add_argument(
        "--baseline-seconds",
        type=float,
        default=10.0,
        help="flat-out: the trickle alone (no classify flood) this long first; 0 skips it",
    )
    parser.add_argument("--server-cpus", default="0", help="flat-out: the server's cores")
    parser.add_argument("--client-cpus", default="1", help="flat-out: this process's cores")
    return parser.parse_args()


@contextmanager
def database_url(args: argparse.Namespace) -> Iterator[str | None]:
    """``--database-url``; else a fresh PostgreSQL database for ``--database postgresql``;
    else None (SQLite in the data directory)."""
    if args.database_url or args.database == "sqlite":
        yield args.database_url
        return
    with postgres_database("textloop_load") as url:
        yield url


def flat_out(
    args: argparse.Namespace,
    env: dict[str, str],
    keys: dict[str, Any],
    data: dict[str, Any],
    settings: Settings,
    scratch: Path,
) -> None:
    """The flat-out mode: server and this process on cores of their own, then ``_trickle``."""
    server_cores, client_cores = parse_cores(args.server_cpus), parse_cores(args.client_cpus)
    if server_cores & client_cores:
        print(
            f"warning: server and client share cores {format_cores(server_cores & client_cores)}",
            file=sys.stderr,
        )
    metrics, _ = textloop(env, "keys", "create", "--scopes", "metrics", "--name", "load-metrics")
    keys["metrics"] = metrics["api_key"]
    os.sched_setaffinity(0, client_cores)  # before any thread starts: they all inherit it
    pin = ["taskset", "-c", format_cores(server_cores)]
    server = Server(env, free_port(), scratch / "server.log", prefix=pin)
    server.start()
    try:
        run = run_flat_out(args, server, keys, data, RECONNECT_GRACE)
    finally:
        server.stop()
    ledger = Ledger(predictions=run.predictions, feedback=run.feedback, decisions=run.decisions)
    database = "postgresql" if settings.database_url.startswith("postgresql") else "sqlite"
    report_flat_out(args, run, audit(settings, ledger), database, server.log)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def report(
    args: argparse.Namespace, ledger: Ledger, window: tuple[float, float], checks: dict[str, Any]
) -> None:
    killed, settled = window
    inside = [f for f in ledger.failures if killed <= f[0] <= settled]
    outside = [f for f in ledger.failures if not killed <= f[0] <= settled]
    total = sum(ledger.requests.values())
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "duration_s": args.duration,
        "concurrency": args.concurrency,
        "requests": dict(ledger.requests),
        "requests_per_s": round(total / args.duration, 1),
        "acknowledged": {
            "predictions": len(ledger.predictions),
            "feedback": len(ledger.feedback),
            "decisions": len(ledger.decisions),
            "uploads": len(ledger.uploads),
        },
        "replayed_uploads": ledger.replayed,
        "restart_window_s": round(settled - killed, 2),
        "failed_attempts_in_restart_window": len(inside),
        "errors_outside_restart_window": len(outside),
        **checks,
    }
    for _when, op, what in outside[:10]:
        print(f"error outside the restart window: {op}: {what}", file=sys.stderr)
    print(json.dumps(result, indent=2))
    ok = not outside and all(checks[k] == 0 for k in checks)
    print("LOAD " + ("PASS" if ok else "FAIL") + " " + json.dumps(result))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
