"""CPU and memory of a real process tree, read from /proc: a parent and the child it started."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from textloop.bench.server_stats import UsageSampler, cpu_seconds, process_tree, rss_bytes

MIB = 2**20
# A child that holds 64 MiB and has used at least 0.3 s of CPU, then says its pid and waits.
CHILD = (
    "import os, time\n"
    "data = b'x' * (64 << 20)\n"
    "while time.process_time() < 0.3: pass\n"
    "print(os.getpid(), flush=True)\n"
    "time.sleep(60)\n"
)
# A parent that runs a child like it to the end (so the child is reaped) and then starts one
# that stays, and passes on the second one's pid.
PARENT = (
    "import subprocess, sys, time\n"
    "spin = 'import time\\nwhile time.process_time() < 0.3: pass'\n"
    "subprocess.run([sys.executable, '-c', spin], check=True)\n"
    f"subprocess.Popen([sys.executable, '-c', {CHILD!r}])\n"
    "time.sleep(60)\n"
)


@pytest.fixture
def family() -> Iterator[tuple[int, int]]:
    """(parent pid, child pid) of a running parent whose child holds 64 MiB."""
    with subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE) as parent:
        try:
            assert parent.stdout is not None
            child = int(parent.stdout.readline())
            yield parent.pid, child
        finally:
            for pid in reversed(process_tree(parent.pid)):
                os.kill(pid, signal.SIGKILL)


def test_the_tree_is_the_process_and_its_live_descendants(family: tuple[int, int]) -> None:
    parent, child = family

    assert process_tree(parent) == [parent, child]
    assert process_tree(child) == [child]


def test_memory_is_summed_over_the_tree(family: tuple[int, int]) -> None:
    parent, child = family

    assert rss_bytes(child) >= 64 * MIB
    assert rss_bytes(parent) > rss_bytes(child)


def test_cpu_counts_the_live_child_and_the_one_already_reaped(family: tuple[int, int]) -> None:
    parent, child = family

    assert cpu_seconds(child) >= 0.25
    assert cpu_seconds(parent) >= 0.5  # 0.3 s of the reaped child, 0.3 s of the live one


def test_a_process_that_is_gone_has_no_tree_and_no_usage() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()

    assert process_tree(gone.pid) == []
    assert (cpu_seconds(gone.pid), rss_bytes(gone.pid)) == (0.0, 0)


def test_the_sampler_reports_cpu_percent_and_peak_memory(family: tuple[int, int]) -> None:
    parent, _ = family
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        with UsageSampler(busy.pid, interval=0.01) as sampler:
            while cpu_seconds(busy.pid) < 0.2:  # until it has visibly worked
                pass
    finally:
        busy.kill()
        busy.wait()
    with UsageSampler(parent, interval=0.01) as idle:
        pass

    assert sampler.usage is not None and idle.usage is not None
    assert sampler.usage.cpu_percent > 0
    assert idle.usage.rss_mib >= 64
