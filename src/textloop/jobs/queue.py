"""A durable job queue in the database: enqueue, claim, heartbeat, finish; failed jobs retry with
exponential backoff and end in a dead-letter state; every job stays as history.

Several workers may claim at once. PostgreSQL locks the claimed row with ``FOR UPDATE SKIP
LOCKED``, so two workers never take the same job; SQLite serialises writers (transactions begin
IMMEDIATE), which makes its select-then-update atomic. A running job whose worker stopped
sending heartbeats for ``LEASE`` is claimable again, and the lost attempt counts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from textloop.errors import NotFound
from textloop.store.tables import Job, JobStatus, utcnow

LEASE = timedelta(seconds=60)
BACKOFF = timedelta(seconds=10)  # after the first failure; doubles with each attempt
MAX_ATTEMPTS = 3
LOST = "lost: "  # the error of an attempt whose worker died


def lost_attempt(job: Job) -> bool:
    """Whether the previous attempt of a just-claimed job died with its worker."""
    return bool(job.error) and (job.error or "").startswith(LOST)


def enqueue(
    session: Session,
    kind: str,
    classifier_id: int | None,
    payload: dict[str, Any] | None = None,
    *,
    reason: str = "by hand",
    coalesce: bool = True,
    max_attempts: int = MAX_ATTEMPTS,
) -> Job:
    """Queue a job; with ``coalesce``, a job of the same kind for the same classifier that is
    still waiting absorbs this one, so a trigger firing during a run queues one follow-up only."""
    if coalesce:
        waiting = session.scalar(
            select(Job).where(
                Job.kind == kind, Job.classifier_id == classifier_id, Job.status == JobStatus.QUEUED
            )
        )
        if waiting is not None:
            return waiting
    job = Job(
        kind=kind,
        classifier_id=classifier_id,
        payload=payload or {},
        reason=reason,
        max_attempts=max_attempts,
        run_after=utcnow(),
    )
    session.add(job)
    session.flush()
    return job


def claim(session: Session, worker: str, kinds: tuple[str, ...] | None = None) -> Job | None:
    """Take the oldest due job, or None; one classifier runs one job of a kind at a time."""
    now = utcnow()
    stale = now - LEASE
    other = aliased(Job)
    busy = exists().where(  # a stale running job blocks too: it is reclaimed first
        other.kind == Job.kind,
        other.classifier_id == Job.classifier_id,
        other.status == JobStatus.RUNNING,
        other.id != Job.id,
    )
    due = or_(
        and_(Job.status == JobStatus.QUEUED, Job.run_after <= now, ~busy),
        and_(Job.status == JobStatus.RUNNING, Job.heartbeat_at < stale),
    )
    query = select(Job).where(due)
    if kinds:
        query = query.where(Job.kind.in_(kinds))
    job = session.scalar(
        query.order_by(Job.run_after, Job.id).limit(1).with_for_update(skip_locked=True)
    )
    if job is None:
        return None
    if job.status == JobStatus.RUNNING:  # its worker died: that attempt is lost
        job.error = f"{LOST}worker {job.worker} stopped sending heartbeats"
        if job.attempts >= job.max_attempts:
            job.status, job.finished_at = JobStatus.DEAD, now
            session.flush()
            return claim(session, worker, kinds)
    try:
        with session.begin_nested():
            job.status = JobStatus.RUNNING
            job.attempts += 1
            job.worker = worker
            job.started_at = job.heartbeat_at = now
    except IntegrityError:  # another worker started a job of this classifier and kind just now
        session.expire(job)
        return None
    return job


def heartbeat(session: Session, job_id: int, worker: str) -> bool:
    """Extend the lease; False when the job is no longer this worker's (it was reclaimed)."""
    job = session.get(Job, job_id)
    if job is None or job.status != JobStatus.RUNNING or job.worker != worker:
        return False
    job.heartbeat_at = utcnow()
    return True


def succeed(session: Session, job_id: int, worker: str, result: dict[str, Any]) -> Job | None:
    """Record success; None (and nothing written) when the job was taken over meanwhile."""
    job = held(session, job_id, worker)
    if job is not None:
        job.status, job.result, job.error, job.finished_at = (
            JobStatus.SUCCEEDED,
            result,
            None,
            utcnow(),
        )
    return job


def fail(session: Session, job_id: int, worker: str, error: str) -> Job | None:
    """Record a failed attempt: queue a retry after a backoff, or dead-letter the job; None
    (and nothing written) when the job was taken over meanwhile."""
    job = held(session, job_id, worker)
    if job is None:
        return None
    job.error = error[:2000]
    now = utcnow()
    if job.attempts >= job.max_attempts:
        job.status, job.finished_at = JobStatus.DEAD, now
    else:
        job.status = JobStatus.QUEUED
        job.run_after = now + BACKOFF * 2 ** (job.attempts - 1)
    return job


def held(session: Session, job_id: int, worker: str) -> Job | None:
    """The job, locked, if ``worker`` still holds it: a worker whose lease ran out while it
    went on must not overwrite the outcome of the worker that took the job over."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    return job if job.status == JobStatus.RUNNING and job.worker == worker else None
