"""The load generator and the server it measures run on cores of their own."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from textloop.bench.cores import UNPINNED, default_split, parse_cores, pin_child, pinned
from textloop.errors import ConfigError

ALLOWED = sorted(os.sched_getaffinity(0))
two_cores = pytest.mark.skipif(len(ALLOWED) < 2, reason="needs two cores to split")


def test_cores_are_read_as_taskset_writes_them() -> None:
    first = ALLOWED[0]
    assert parse_cores(str(first)) == {first}
    assert parse_cores(f"{first}-{first}") == {first}
    assert parse_cores(",".join(map(str, ALLOWED))) == set(ALLOWED)


@pytest.mark.parametrize("text", ["", "one", "1-", "99999"])
def test_cores_that_are_not_numbers_or_not_ours_are_refused_by_name(text: str) -> None:
    with pytest.raises(ConfigError, match="cores"):
        parse_cores(text)


@two_cores
def test_by_default_the_client_gets_the_first_core_and_the_server_the_rest() -> None:
    split = default_split()
    assert split.client == {ALLOWED[0]} and split.server == set(ALLOWED[1:])
    assert split.separate and "client on cores" in split.describe()
    given = default_split(server=str(ALLOWED[0]))
    assert given.server == {ALLOWED[0]} and given.client == {ALLOWED[1]}


def test_unpinned_says_so() -> None:
    assert not UNPINNED.separate and UNPINNED.describe() == "client and server unpinned"


def test_pinning_this_thread_is_undone_afterwards() -> None:
    before = os.sched_getaffinity(0)
    with pinned(frozenset(ALLOWED[:1])):
        assert os.sched_getaffinity(0) == {ALLOWED[0]}
    assert os.sched_getaffinity(0) == before


def test_a_child_is_pinned_before_it_runs_anything() -> None:
    script = "import os; print(sorted(os.sched_getaffinity(0)))"
    done = subprocess.run(
        [sys.executable, "-c", script],
        preexec_fn=pin_child(frozenset(ALLOWED[-1:])),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == str(ALLOWED[-1:])
