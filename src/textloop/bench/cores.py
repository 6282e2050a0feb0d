"""Which cores the load generator and the server run on, so that neither measures the other.

A load generator on the server's cores takes CPU the server would have used and adds its own
scheduling noise to every latency. By default ``bench`` gives the first core it may use to the
load generator and the rest to the server it starts; on one core it cannot separate them and
says so. Affinity is set before the server's first thread starts, so every thread it ever has
inherits it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from textloop.errors import ConfigError


@dataclass(frozen=True)
class CoreSplit:
    """``client`` and ``server`` core sets; ``None`` leaves that side unpinned."""

    client: frozenset[int] | None
    server: frozenset[int] | None

    @property
    def separate(self) -> bool:
        return (
            self.client is not None and self.server is not None and not (self.client & self.server)
        )

    def describe(self) -> str:
        if self.client is None and self.server is None:
            return "client and server unpinned"
        return f"client on cores {format_cores(self.client)}, server on {format_cores(self.server)}"


UNPINNED = CoreSplit(None, None)


def parse_cores(text: str) -> frozenset[int]:
    """``"1"``, ``"0,2"`` or ``"2-5"`` (as ``taskset -c`` takes them) as a set of core numbers,
    each one this process may run on."""
    if not hasattr(os, "sched_getaffinity"):
        raise ConfigError("pinning to cores needs Linux; leave out --client-cores/--server-cores")
    cores: set[int] = set()
    try:
        for part in text.split(","):
            low, dash, high = part.strip().partition("-")
            cores.update(range(int(low), int(high if dash else low) + 1))
    except ValueError:
        raise ConfigError(f"cores are given like 1 or 0,2 or 2-5, not {text!r}") from None
    allowed = os.sched_getaffinity(0)
    if not cores or not cores <= allowed:
        raise ConfigError(
            f"cores {text!r}: this process may use only {format_cores(frozenset(allowed))}"
        )
    return frozenset(cores)


def default_split(client: str | None = None, server: str | None = None) -> CoreSplit:
    """The cores each side gets: as given, else the first allowed core for the client and the
    others for the server; unpinned on a machine with one core."""
    if not hasattr(os, "sched_getaffinity") and not (client or server):
        return UNPINNED  # not Linux: nothing to pin with
    allowed = sorted(os.sched_getaffinity(0))
    client_cores = parse_cores(client) if client else None
    server_cores = parse_cores(server) if server else None
    if client_cores is None and server_cores is None and len(allowed) < 2:
        return UNPINNED
    if client_cores is None:
        rest = [core for core in allowed if server_cores is None or core not in server_cores]
        client_cores = frozenset(rest[:1] or allowed[:1])
    if server_cores is None:
        server_cores = frozenset(allowed) - client_cores or frozenset(allowed)
    return CoreSplit(client_cores, server_cores)


def format_cores(cores: frozenset[int] | None) -> str:
    return "any" if cores is None else ",".join(str(core) for core in sorted(cores))


def pin_child(cores: frozenset[int] | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that pins a child process before it runs anything."""
    if cores is None:
        return None
    return lambda: os.sched_setaffinity(0, cores)


@contextmanager
def pinned(cores: frozenset[int] | None) -> Iterator[None]:
    """This thread (and threads it starts meanwhile) on ``cores``, restored afterwards."""
    if cores is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)
