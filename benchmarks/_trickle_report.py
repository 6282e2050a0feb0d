"""The flat-out run's report: latency per kind, alone and under the flood, rates, the writer's
lag, and PASS or FAIL.

Each kind has its baseline figures (``alone``: without the classify flood; null when the
baseline was skipped or never sent that kind), its figures under the flood (``under_flood``,
which the targets apply to) and ``ratio_p99``, the one p99 over the other. Classify's rates,
the writer's rows a second, the lag and the CPU figures are the flood phase's; the audit covers
what both phases acknowledged.

Latency percentiles are of answered (2xx) requests that do not overlap the restart window (the
kill until the new server answers, plus the reconnect grace): a restart is measured by what is
lost and how long it takes, not by the latency of requests caught in it. Failures inside the
window are counted apart; outside it, any failure fails the run, except the refusals the server
is meant to give (classify's 503 ``storage_behind``, ``/readyz``'s 503 while the queue is full),
which are counted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
from _trickle import LagSample, Run, Timings

TARGETS_MS = {  # p99 of each kind, in milliseconds
    "healthz": 50.0,
    "feedback": 250.0,
    "claim": 250.0,
    "decision": 250.0,
    "portal_queues": 250.0,
    "portal_next": 250.0,
    "admin": 250.0,
}
LOG_PROBLEMS = ("Traceback", "ERROR", "CRITICAL")


def kind_summary(timings: Timings, window: tuple[float, float]) -> dict[str, Any]:
    starts, ends = np.asarray(timings.starts), np.asarray(timings.ends)
    statuses = np.asarray(timings.statuses)
    killed, settled = window
    overlapping = (starts <= settled) & (ends >= killed)
    answered = (statuses >= 200) & (statuses < 300)
    counted = answered & ~overlapping
    ms = (ends - starts)[counted] * 1000.0
    p50, p99 = np.percentile(ms, [50, 99]) if ms.size else (None, None)
    slowest = starts[counted][ms.argmax()] if ms.size else None
    return {
        "count": int(statuses.size),
        "p50_ms": _round(p50),
        "p99_ms": _round(p99),
        "max_ms": _round(ms.max() if ms.size else None),
        # when the slowest began, in seconds after the restart window (negative: before the kill)
        "slowest_after_restart_s": _round(slowest - settled if slowest is not None else None),
        "non_2xx": int(((statuses != 0) & ~answered).sum()),
        "no_answer": int((statuses == 0).sum()),
        "overlapping_restart": int(overlapping.sum()),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def kinds(run: Run) -> dict[str, dict[str, Any]]:
    """Per kind: ``alone`` (count, p50, p99, max), ``under_flood`` and ``ratio_p99``."""
    result = {}
    for kind in sorted(run.alone.keys() | run.under_flood.keys()):
        under = kind_summary(run.under_flood.get(kind, Timings()), run.window)
        alone = None
        if kind in run.alone:
            summary = kind_summary(run.alone[kind], run.window)
            alone = {k: summary[k] for k in ("count", "p50_ms", "p99_ms", "max_ms")}
        base, flood = (alone["p99_ms"] if alone else None), under["p99_ms"]
        ratio = round(flood / base, 2) if base and flood is not None else None
        result[kind] = {"alone": alone, "under_flood": under, "ratio_p99": ratio}
    return result


def print_kinds(summaries: dict[str, dict[str, Any]]) -> None:
    """The alone and under-flood p50 and p99 side by side, and the p99 ratio."""
    print(f"{'kind':<20} {'alone p50/p99 ms':>18} {'flood p50/p99 ms':>18} {'p99 x':>7}")
    for kind, summary in summaries.items():
        cells = []
        for figures in (summary["alone"], summary["under_flood"]):
            answered = figures and figures["p99_ms"] is not None
            cells.append(f"{figures['p50_ms']}/{figures['p99_ms']}" if answered else "-")
        ratio = summary["ratio_p99"]
        print(f"{kind:<20} {cells[0]:>18} {cells[1]:>18} {ratio if ratio else '-':>7}")


def classify_rates(run: Run, duration: float) -> dict[str, float]:
    """Answered classify requests a second: over the whole run, and outside the restart window
    (the rate the server sustains, to set beside the writer's)."""
    timings = run.under_flood["classify"]
    starts, ends = np.asarray(timings.starts), np.asarray(timings.ends)
    answered = np.asarray(timings.statuses) == 200
    killed, settled = run.window
    outside = answered & ~((starts <= settled) & (ends >= killed))
    return {
        "classify_per_s": round(int(answered.sum()) / duration, 1),
        "classify_per_s_outside_restart": round(
            int(outside.sum()) / max(duration - (settled - killed), 1e-9), 1
        ),
    }


def writer_rate(samples: list[LagSample]) -> float | None:
    """Rows stored a second, from the stored counter's rise between scrapes of one process
    (the counter starts again at zero in the restarted server)."""
    by_process: dict[str, list[LagSample]] = {}
    for sample in samples:
        if sample.pid is not None and sample.stored is not None:
            by_process.setdefault(sample.pid, []).append(sample)
    rows = seconds = 0.0
    for run in by_process.values():
        assert run[-1].stored is not None and run[0].stored is not None
        rows += run[-1].stored - run[0].stored
        seconds += run[-1].at - run[0].at
    return round(rows / seconds, 1) if seconds > 0 else None


def lag_summary(samples: list[LagSample]) -> dict[str, Any]:
    queued = [s.queued for s in samples if s.queued is not None]
    oldest = [s.oldest_seconds for s in samples if s.oldest_seconds is not None]
    limits = {s.limit for s in samples if s.limit is not None}
    return {
        "samples": len(samples),
        "max_queued_rows": max(queued, default=None),
        "max_oldest_seconds": max(oldest, default=None),
        "queue_limit": max(limits, default=None),
    }


def server_log(log: Path) -> dict[str, Any]:
    """Lines of the server's log that say something went wrong, counted (a few kept)."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    problems = [line for line in lines if any(word in line for word in LOG_PROBLEMS)]
    return {"problem_lines": len(problems), "first": problems[:5]}


def verdict(result: dict[str, Any], checks: dict[str, Any]) -> list[str]:
    """Why the run fails its targets; empty when it passes."""
    reasons = []
    for kind, target in TARGETS_MS.items():
        p99 = result["kinds"].get(kind, {}).get("under_flood", {}).get("p99_ms")
        if p99 is None:
            reasons.append(f"{kind}: no answered request outside the restart window")
        elif p99 >= target:
            reasons.append(f"{kind} p99 {p99} ms >= {target:g} ms")
    reasons += [f"{name} = {value}" for name, value in checks.items() if value != 0]
    if result["errors_outside_restart_window"]:
        reasons.append(f"{result['errors_outside_restart_window']} errors outside the window")
    return reasons


def report(
    args: argparse.Namespace,
    run: Run,
    checks: dict[str, Any],
    database: str,
    log: Path,
) -> None:
    killed, settled = run.window
    inside = [f for f in run.failures if killed <= f[0] <= settled]
    outside = [f for f in run.failures if not killed <= f[0] <= settled]
    result = {
        "mode": "flat-out",
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "database": database,
        "cores": {"server": args.server_cpus, "client": args.client_cpus},
        "load_average_1m": {
            "start": round(run.load_average, 2),
            "end": round(os.getloadavg()[0], 2),
        },
        "cpu_percent": {  # 100 is one core busy: is the server, or the client, the limit?
            "server": round(100 * run.server_cpu_seconds / args.duration),
            "client": round(100 * run.client_cpu_seconds / args.duration),
        },
        "baseline_s": args.baseline_seconds,
        "duration_s": args.duration,
        "concurrency": args.concurrency,
        "kill_at_s": args.kill_at,
        "kinds": kinds(run),
        **classify_rates(run, args.duration),
        "writer_rows_per_s": writer_rate(run.lag),
        "lag": lag_summary(run.lag),
        "refusals": dict(run.refusals),
        "acknowledged": {  # in both phases: the audit looks up every one
            "predictions": len(run.predictions),
            "feedback": len(run.feedback),
            "decisions": len(run.decisions),
        },
        "restart_window_s": round(settled - killed, 2),
        "measured_after_restart_s": round(max(0.0, run.started + args.duration - settled), 1),
        "failed_attempts_in_restart_window": len(inside),
        "errors_outside_restart_window": len(outside),
        "server_log": server_log(log),
        **checks,
    }
    for when, kind, what in outside[:10]:
        at = f"{when - run.started:.1f} s" if when >= run.started else "the baseline"
        print(f"error outside the restart window at {at}: {kind}: {what}", file=sys.stderr)
    if not result["measured_after_restart_s"]:
        print(
            "warning: the restarted server answered only after the run ended, so nothing it "
            "answered was measured: lengthen --duration or kill earlier",
            file=sys.stderr,
        )
    print_kinds(result["kinds"])
    print(json.dumps(result, indent=2))
    reasons = verdict(result, checks)
    print("LOAD " + ("FAIL: " + "; ".join(reasons) if reasons else "PASS"))
    sys.exit(1 if reasons else 0)
