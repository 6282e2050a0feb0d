"""Which workers are running: each announces itself while it runs, idle or busy.

A worker writes its row when it starts and refreshes ``seen_at`` every ``ANNOUNCE`` while it
polls (a long job's heartbeats do not refresh it: ``live_workers`` also counts a worker holding a
running job); it removes the row when it stops cleanly. A row not refreshed for ``STALE`` is a
worker that died; it is ignored.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from textloop.store.tables import Job, JobStatus, WorkerPresence, utcnow

ANNOUNCE = timedelta(seconds=10)
STALE = timedelta(seconds=60)


def announce(session: Session, name: str) -> None:
    """Record that worker ``name`` is running now."""
    row = session.get(WorkerPresence, name)
    now = utcnow()
    if row is None:
        session.add(WorkerPresence(name=name, started_at=now, seen_at=now))
    else:
        row.seen_at = now


def leave(session: Session, name: str) -> None:
    """Worker ``name`` stopped cleanly."""
    session.execute(delete(WorkerPresence).where(WorkerPresence.name == name))


def live_workers(session: Session) -> list[str]:
    """The workers seen within ``STALE`` or running a job with a fresh heartbeat, by name."""
    since = utcnow() - STALE
    idle = session.scalars(select(WorkerPresence.name).where(WorkerPresence.seen_at >= since))
    busy = session.scalars(
        select(Job.worker).where(
            Job.status == JobStatus.RUNNING, Job.heartbeat_at >= since, Job.worker.is_not(None)
        )
    )
    return sorted({*idle, *(name for name in busy if name)})
