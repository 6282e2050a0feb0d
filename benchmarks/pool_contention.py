"""Serving latency while ``textloop pool sample`` scores a large pool, on SQLite.

On SQLite every transaction holds the database's write lock; a model that scored the pool inside
one stalled every request that writes (feedback, the prediction writer) for as long as the
scoring took. This measures classify and feedback (one naming a prediction, one with a bare text
the server scores) against a real server, first with nothing else running (the baseline, in the
same run), then while ``textloop pool sample`` scores ``--pool`` unlabelled texts with the
``embedding`` model, and reports both side by side with their ratio.

The server runs on core 0, ``pool sample`` and the load generator on core 1 (``taskset``), so
the sampler competes for the database, not for the server's core.

Usage: python benchmarks/pool_contention.py [--pool 20000] [--rate 10] [--model embedding]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx
from _cli import BANKING77, ingest_options, textloop

READY_TIMEOUT = 120.0
OPERATIONS = ("classify", "feedback (prediction)", "feedback (text)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pinned(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if os.cpu_count() and os.cpu_count() > 1 else []


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("a") as output:
        process = subprocess.Popen(
            [*pinned(0), sys.executable, "-m", "textloop", "serve", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early; see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server not ready in {READY_TIMEOUT:.0f} s; see {log}")


def drive(
    base: str, key: str, texts: list[str], rate: float, stop: threading.Event
) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Classify, then report the answer as wrong, then send a bare text: ``rate`` rounds/s.
    Returns the latencies of every request and the count of failed ones, per operation."""
    latencies: dict[str, list[float]] = defaultdict(list)
    failed: dict[str, int] = defaultdict(int)
    headers = {"x-api-key": key}

    def send(operation: str, path: str, body: dict[str, str]) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            answer = http.post(path, json=body, headers=headers)
        except httpx.TransportError:
            answer = None
        latencies[operation].append(time.perf_counter() - started)
        if answer is None or answer.status_code >= 300:
            failed[operation] += 1
            return None
        return answer

    with httpx.Client(base_url=base, timeout=60) as http:
        index = 0
        while not stop.is_set():
            began = time.monotonic()
            text = texts[index % len(texts)]
            index += 1
            answer = send("classify", "/v1/classifiers/bench/classify", {"text": text})
            if answer is not None:
                prediction = {"prediction_id": answer.json()["prediction_id"]}
                send("feedback (prediction)", "/v1/classifiers/bench/feedback", prediction)
            reported = {"text": f"{text} (reported {index})"}
            send("feedback (text)", "/v1/classifiers/bench/feedback", reported)
            stop.wait(max(0.0, 1 / rate - (time.monotonic() - began)))
    return latencies, failed


def summary(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return statistics.median(ordered) * 1000, p99 * 1000, ordered[-1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=BANKING77)
    parser.add_argument("--label-column", default="category")
    parser.add_argument("--model", default="embedding")
    parser.add_argument("--pool", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=10.0, help="request rounds per second")
    parser.add_argument("--baseline-seconds", type=float, default=15.0)
    args = parser.parse_args()

    with open(args.data / "train.csv", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTLOOP_")}
        env["TEXTLOOP_DATA_DIR"] = str(Path(tmp) / "data")
        print(f"preparing: ingest, train {args.model}, deploy, pool of {args.pool:,}", flush=True)
        textloop(env, "ingest", str(args.data / "train.csv"), "-c", "bench", *ingest_options(args))
        textloop(env, "train", "bench", "--model", args.model)
        textloop(env, "deploy", "bench")
        key = textloop(env, "keys", "create", "--scopes", "classify,feedback")[0]["api_key"]
        pool = Path(tmp) / "pool.csv"
        with pool.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text"])
            writer.writerows([f"{texts[i % len(texts)]} (pool {i})"] for i in range(args.pool))
        added = textloop(env, "pool", "add", "bench", str(pool))[0]
        assert added["added"] == args.pool, added

        port = free_port()
        log = Path(tmp) / "server.log"
        server = start_server(env, port, log)
        base = f"http://127.0.0.1:{port}"
        results: dict[str, tuple[dict[str, list[float]], dict[str, int]]] = {}
        try:
            stop = threading.Event()
            threading.Timer(args.baseline_seconds, stop.set).start()
            results["idle"] = drive(base, key, texts, args.rate, stop)

            stop = threading.Event()
            measured: list[tuple[dict[str, list[float]], dict[str, int]]] = []
            runner = threading.Thread(
                target=lambda: measured.append(drive(base, key, texts[::-1], args.rate, stop))
            )
            runner.start()
            started = time.perf_counter()
            sample = subprocess.run(
                [*pinned(1), sys.executable, "-m", "textloop", "pool", "sample", "bench",
                 "--n", "100", "--strategy", "margin", "--json"],
                env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            sampled_seconds = time.perf_counter() - started
            stop.set()
            runner.join()
            results["during pool sample"] = measured[0]
        finally:
            server.terminate()
            server.wait(timeout=30)
        locked = log.read_text(errors="replace").count("database is locked")

    print(
        f"\nMachine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; SQLite; model {args.model}; pool {args.pool:,} texts; "
        f"{args.rate:g} rounds/s of classify + feedback (prediction) + feedback (text)"
    )
    print(f"pool sample: {sampled_seconds:.1f} s ({sample.stdout.count('task')} tasks)")
    print(f"'database is locked' lines in the server log: {locked}\n")
    print("| operation | phase | requests | failed | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|---|")
    for operation in OPERATIONS:
        for phase, (latencies, failed) in results.items():
            p50, p99, worst = summary(latencies[operation])
            print(
                f"| {operation} | {phase} | {len(latencies[operation]):,} | "
                f"{failed.get(operation, 0):,} | {p50:.1f} | {p99:.1f} | {worst:.1f} |"
            )
    print("\nmax during / max idle:")
    for operation in OPERATIONS:
        during = summary(results["during pool sample"][0][operation])[2]
        idle = summary(results["idle"][0][operation])[2]
        print(f"  {operation}: {during / idle:.2f}x")


if __name__ == "__main__":
    main()
