"""Drift detection against a real server: held-out Banking77 traffic stays quiet, AG News does not.

A Banking77 classifier (``embedding``) is trained on a fixed 80% of the Banking77 training file,
with the test file as its test split, and served by ``textloop serve --with-worker``. Then, one
request at a time over HTTP:

1. ``--calm-windows`` windows of the held-out 20% of Banking77's training texts;
2. ``--drift-windows`` windows of AG News texts.

After each window the script waits for the worker's drift report and prints its measures. It
passes when no held-out window raises ``drift.detected`` and the first AG News window does.

Usage: python benchmarks/drift.py [--data ../shared/data] [--window 500]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _cli import textloop  # noqa: E402

from tests.processes import running_server  # noqa: E402  (the tests' server launcher)


def read(path: Path, column: str) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row[column].strip()]


def wait_for_report(http: httpx.Client, admin: dict[str, str], count: int) -> dict:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        reports = http.get("/v1/classifiers/bank/drift", headers=admin).json()["reports"]
        if len(reports) >= count:
            return reports[0]
        time.sleep(0.5)
    raise SystemExit(f"no drift report {count} within 300 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / ".." / "shared" / "data")
    parser.add_argument("--window", type=int, default=500)
    parser.add_argument("--calm-windows", type=int, default=4)
    parser.add_argument("--drift-windows", type=int, default=2)
    args = parser.parse_args()

    bank = read(args.data / "banking77" / "train.csv", "text")
    random.Random(0).shuffle(bank)
    cut = int(len(bank) * 0.8)
    held_out = [row["text"] for row in bank[cut:]]
    news = [row["text"] for row in read(args.data / "ag_news" / "test.csv", "text")]
    random.Random(0).shuffle(news)
    needed = args.calm_windows * args.window
    if needed > len(held_out):
        raise SystemExit(f"{needed} held-out texts asked for; there are {len(held_out)}")

    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTLOOP_")}
        env["TEXTLOOP_DATA_DIR"] = str(Path(tmp) / "data")
        fit = Path(tmp) / "fit.csv"
        with fit.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, ["text", "category"])
            writer.writeheader()
            writer.writerows(bank[:cut])
        admin = {"x-api-key": textloop(env, "init")[0]["api_key"]}
        test_file = str(args.data / "banking77" / "test.csv")
        textloop(env, "ingest", str(fit), "-c", "bank", "--label-column", "category",
                 "--test-file", test_file)  # fmt: skip
        started = time.perf_counter()
        textloop(env, "train", "bank", "--model", "embedding", "--deploy")
        print(f"trained on {cut:,} Banking77 rows in {time.perf_counter() - started:.0f} s")
        textloop(env, "drift", "bank", "--window", str(args.window))

        streams = [("held-out Banking77", held_out)] * args.calm_windows
        streams += [("AG News", news)] * args.drift_windows
        offsets = {"held-out Banking77": 0, "AG News": 0}
        detected_after: int | None = None
        sent_news = 0
        with (
            running_server(env, Path(tmp) / "server.log", "--with-worker") as base,
            httpx.Client(base_url=base, timeout=30) as http,
        ):
            for number, (source, texts) in enumerate(streams, start=1):
                start = offsets[source]
                offsets[source] += args.window
                for text in texts[start : start + args.window]:
                    answer = http.post(
                        "/v1/classifiers/bank/classify", json={"text": text}, headers=admin
                    )
                    answer.raise_for_status()
                filled = time.perf_counter()
                report = wait_for_report(http, admin, number)
                waited = time.perf_counter() - filled
                if source == "AG News":
                    sent_news += args.window
                events = http.get(
                    "/v1/events", params={"type": "drift.detected"}, headers=admin
                ).json()["events"]
                if events and detected_after is None:
                    detected_after = sent_news
                measures = ", ".join(f"{k} {v:g}" for k, v in report["measures"].items())
                verdict = "DRIFT " + ",".join(report["breached"]) if report["drifted"] else "calm"
                print(
                    f"window {number} ({source}): {verdict}; report {waited:.1f} s after "
                    f"the window filled; {len(events)} drift.detected so far\n    {measures}"
                )
                if source != "AG News" and events:
                    print("FAIL: held-out Banking77 traffic raised drift.detected")
            total = len(
                http.get("/v1/events", params={"type": "drift.detected"}, headers=admin).json()[
                    "events"
                ]
            )
    ok = detected_after == args.window and total == 1
    print(
        f"\ndrift.detected raised after {detected_after} AG News texts (window {args.window}); "
        f"{total} event(s) in all; held-out Banking77 windows raised none: "
        f"{'PASS' if ok else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
