"""CPU and resident memory of a server's whole process tree, read from ``/proc`` (Linux only).

A server started with ``--workers N`` is a supervisor and N children, so every figure is a sum
over the tree. CPU time counts each process's own time plus that of its reaped children, so a
worker that exits mid-phase does not take its seconds with it. CPU % is CPU seconds per wall
second (200 % is two cores busy); memory is the peak of the summed VmRSS, sampled four times a
second (pages shared between processes count once per process, so it errs high).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_INTERVAL = 0.25


@dataclass(frozen=True)
class Usage:
    cpu_percent: float
    rss_mib: float
    cpu_seconds: float = 0.0  # CPU time the tree spent over the measured span


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants; empty when ``pid`` is gone."""
    if not (PROC / str(pid)).exists():
        return []
    tree, index = [pid], 0
    while index < len(tree):
        tree.extend(_children(tree[index]))
        index += 1
    return tree


def _children(pid: int) -> list[int]:
    tasks = PROC / str(pid) / "task"
    try:
        files = [task / "children" for task in tasks.iterdir()]
    except OSError:
        return []
    if files and not files[0].exists():  # kernel without CONFIG_PROC_CHILDREN: scan every pid
        return [other for other in _all_pids() if _parent(other) == pid]
    found: list[int] = []
    for file in files:
        try:
            found.extend(int(child) for child in file.read_text().split())
        except OSError:
            continue  # the thread ended while we looked
    return found


def _all_pids() -> list[int]:
    return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of ``/proc/PID/stat`` after the command name (which may hold spaces and ')')."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def _parent(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def cpu_seconds(pid: int) -> float:
    """User and system time of the tree, its reaped children's included."""
    ticks = 0
    for member in process_tree(pid):
        fields = _stat_fields(member)
        if fields:  # utime, stime, cutime, cstime are fields 14-17 of stat, 11-14 here
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    """Summed VmRSS of the tree."""
    total = 0
    for member in process_tree(pid):
        try:
            status = (PROC / str(member) / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024  # reported in kB
                break
    return total


class UsageSampler:
    """Measures a process tree from ``restart`` (or entering) to leaving the ``with`` block.

    RSS is sampled in a background thread; CPU needs only the two ends. ``usage`` is set on exit.
    """

    def __init__(self, pid: int, interval: float = SAMPLE_INTERVAL) -> None:
        self.pid = pid
        self.interval = interval
        self.usage: Usage | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="bench-sampler", daemon=True)
        self._started = 0.0
        self._cpu = 0.0
        self._peak = 0

    def __enter__(self) -> UsageSampler:
        self.restart()
        self._thread.start()
        return self

    def restart(self) -> None:
        """Start measuring afresh from now (called when the load's counted phase begins)."""
        rss, cpu = rss_bytes(self.pid), cpu_seconds(self.pid)
        with self._lock:
            self._started, self._cpu, self._peak = time.perf_counter(), cpu, rss

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        cpu, rss = cpu_seconds(self.pid), rss_bytes(self.pid)
        with self._lock:
            wall = time.perf_counter() - self._started
            peak = max(self._peak, rss)
            busy = cpu - self._cpu
        self.usage = Usage(
            cpu_percent=100.0 * busy / wall if wall > 0 else 0.0,
            rss_mib=peak / 2**20,
            cpu_seconds=busy,
        )

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            rss = rss_bytes(self.pid)
            with self._lock:
                self._peak = max(self._peak, rss)
