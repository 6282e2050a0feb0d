"""The lease a worker holds on the job it runs, and the fence that lets the job's outward
effects happen only while that lease is still held.

A worker whose heartbeats stop reaching the database (a long pause, a partition) loses its job
to another worker after ``queue.LEASE`` but goes on running it. Its outcome is already kept out
(``queue.succeed`` and ``queue.fail`` check who holds the job); a write with effects beyond the
job, moving the production alias, is fenced too: ``fence(session)``, in the same transaction as
that write, locks the job's row and refuses when the job is no longer this worker's. Code run
outside a worker (the CLI, the HTTP API) holds no lease and is not fenced.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy.orm import Session

from textloop.errors import Conflict
from textloop.jobs.queue import held


@dataclass(frozen=True)
class Lease:
    job_id: int
    worker: str


class LeaseLost(Conflict):
    """The job was taken over by another worker while this one ran it."""

    code = "lease_lost"


_held: ContextVar[Lease | None] = ContextVar("textloop_job_lease", default=None)


@contextmanager
def holding(job_id: int, worker: str) -> Iterator[None]:
    """Run the block as ``worker`` holding ``job_id``: what it fences checks that lease."""
    token = _held.set(Lease(job_id, worker))
    try:
        yield
    finally:
        _held.reset(token)


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
