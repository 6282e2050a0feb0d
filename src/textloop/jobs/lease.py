"""The lease a worker holds on the job it runs, and the fence that lets the job's outward
effects happen only while that lease is still held.

A worker whose heartbeats stop reaching the database (a long pause, a partition) loses its job
to another worker after ``queue.LEASE`` but goes on running it. Its outcome is already kept out
(``queue.succeed`` and ``queue.fail`` check who holds the job); a write with effects beyond the
job, moving the production alias, is fenced too: ``fence(session)``, in the same transaction as
that write, locks the job's row and refuses when the job is no longer this worker's. Code run
outside a worker (the CLI, the HTTP API) holds no lease and is not fenced.

Heartbeats say the worker is alive, not that the job moves. A job that can say how long it may
go without moving (``expect_progress``; a batch job, between chunks) and then reports each step
(``progressed``) is *stalled* once that time passes without a step: its worker stops renewing
the lease, so the job is taken over (the lost attempt counts, and the last one dead-letters it)
instead of being kept alive for ever by a thread stuck on a read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from textloop.errors import Conflict
from textloop.jobs.queue import held


@dataclass
class Progress:
    """When the running job last moved, and how long it may go without moving (None: any)."""

    allowed: float | None = None
    last: float = field(default_factory=time.monotonic)

    def stalled(self) -> bool:
        return self.allowed is not None and time.monotonic() - self.last > self.allowed


@dataclass(frozen=True)
class Lease:
    job_id: int
    worker: str
    progress: Progress = field(default_factory=Progress)


class LeaseLost(Conflict):
    """The job was taken over by another worker while this one ran it."""

    code = "lease_lost"


_held: ContextVar[Lease | None] = ContextVar("textloop_job_lease", default=None)


@contextmanager
def holding(job_id: int, worker: str, progress: Progress | None = None) -> Iterator[None]:
    """Run the block as ``worker`` holding ``job_id``: what it fences checks that lease, and
    what it reports of its progress lands in ``progress``."""
    token = _held.set(Lease(job_id, worker, progress or Progress()))
    try:
        yield
    finally:
        _held.reset(token)


def expect_progress(seconds: float) -> None:
    """The running job will report a step (``progressed``) at least every ``seconds``; outside
    a worker, nothing."""
    lease = _held.get()
    if lease is not None:
        lease.progress.allowed = seconds
        lease.progress.last = time.monotonic()


def progressed() -> None:
    """The running job made a step."""
    lease = _held.get()
    if lease is not None:
        lease.progress.last = time.monotonic()


def fence(session: Session) -> None:
    """Refuse (``LeaseLost``) when the running job's lease is lost; lock the job's row until
    ``session`` commits, so the job cannot be taken over before the fenced write lands."""
    lease = _held.get()
    if lease is None:
        return
    if held(session, lease.job_id, lease.worker) is None:
        raise LeaseLost(
            f"job {lease.job_id} was taken over by another worker while {lease.worker} ran it "
            "(its heartbeats stopped reaching the database); its changes are not applied"
        )
