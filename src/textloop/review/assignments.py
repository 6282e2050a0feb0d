"""Handing review tasks to people: leases that expire, decisions, and agreement.

A task needs ``overlap`` decisions from different reviewers (the classifier's setting, default
1). A reviewer is handed the oldest open task they have not decided or skipped, under a lease
that holds one of the task's ``overlap`` slots for ``LEASE`` (so with overlap 1 two reviewers are
never handed the same task); the slot is the primary key of the lease row, so two concurrent
claims of one slot cannot both succeed. When enough decisions are in, the task is ``done`` if
they agree and goes to the admins' ``conflict`` queue if they do not, where an admin settles it.
Settling a task announces ``review.decided`` (``signals``), which the retrain triggers hear.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from textloop.errors import InvalidRequest, NotFound
from textloop.review.labels import require_known_label
from textloop.signals import REVIEW_DECIDED
from textloop.store.queries import get_classifier
from textloop.store.tables import (
    Classifier,
    ReviewDecision,
    ReviewLease,
    ReviewStatus,
    ReviewTask,
    utcnow,
)

LEASE = timedelta(minutes=10)
CLAIM_ATTEMPTS = 8
SKIPPED = ""  # a skip, stored as a decision: no label is empty, so any label may be "skip"
SKIP_WORD = "skip"  # how the API and exports have always written a skip


def claim_next(session: Session, classifier_name: str, user_id: int) -> ReviewTask | None:
    """Lease the next task for ``user_id`` (keeping one already leased to them), or None."""
    classifier = get_classifier(session, classifier_name)
    now = utcnow()
    held = session.scalar(
        select(ReviewTask)
        .join(ReviewLease, ReviewLease.task_id == ReviewTask.id)
        .where(
            ReviewTask.classifier_id == classifier.id,
            ReviewTask.status == ReviewStatus.OPEN,
            ReviewLease.user_id == user_id,
            ReviewLease.expires_at > now,
        )
        .order_by(ReviewTask.created_at, ReviewTask.id)
        .limit(1)
    )
    if held is not None:
        return held
    session.execute(delete(ReviewLease).where(ReviewLease.expires_at <= now))
    session.flush()
    for _ in range(CLAIM_ATTEMPTS):
        task = _next_open(session, classifier, user_id)
        if task is None:
            return None
        taken = _taken_slots(session, task.id)
        free = [s for s in range(classifier.review_overlap) if s not in taken]
        if not free:  # filled since we looked (another reviewer's claim just committed)
            continue
        slot = free[0]
        try:
            with session.begin_nested():
                session.add(
                    ReviewLease(task_id=task.id, slot=slot, user_id=user_id, expires_at=now + LEASE)
                )
            return task
        except IntegrityError:  # another reviewer took that slot a moment ago
            continue
    return None


def holds(session: Session, task_id: str, user_id: int) -> bool:
    """Whether ``user_id`` holds the task now: it is open and their hold has not run out."""
    return (
        session.scalar(
            select(ReviewLease.task_id)
            .join(ReviewTask, ReviewTask.id == ReviewLease.task_id)
            .where(
                ReviewLease.task_id == task_id,
                ReviewLease.user_id == user_id,
                ReviewLease.expires_at > utcnow(),
                ReviewTask.status == ReviewStatus.OPEN,
            )
        )
        is not None
    )


def own_decision(session: Session, task_id: str, user_id: int) -> ReviewDecision | None:
    """``user_id``'s decision on the task, if they made one."""
    return session.scalar(
        select(ReviewDecision).where(
            ReviewDecision.task_id == task_id, ReviewDecision.user_id == user_id
        )
    )


def decide(session: Session, task_id: str, user_id: int, label: str) -> ReviewTask:
    """Record ``user_id``'s label (or ``SKIPPED``: a skip) for a task they hold, and settle it.

    The task row is locked first, so two reviewers deciding one task at once settle it in turn:
    the second sees the first's decision when it counts them.
    """
    task = session.get(ReviewTask, task_id, with_for_update=True)
    if task is None:
        raise NotFound(f"review task {task_id!r} does not exist")
    classifier = session.get(Classifier, task.classifier_id)
    assert classifier is not None
    if label != SKIPPED:
        require_known_label(classifier, label)
    if task.status != ReviewStatus.OPEN:
        raise InvalidRequest(f"review task {task_id} is {task.status} already", field="task")
    lease = session.scalar(
        select(ReviewLease).where(
            ReviewLease.task_id == task_id,
            ReviewLease.user_id == user_id,
            ReviewLease.expires_at > utcnow(),  # compared in SQL: SQLite keeps no time zone
        )
    )
    if lease is None:
        raise InvalidRequest("this task is no longer yours to decide; take the next one")
    session.delete(lease)
    session.add(ReviewDecision(task_id=task_id, user_id=user_id, label=label))
    session.flush()
    labels = [
        decided
        for decided in session.scalars(
            select(ReviewDecision.label).where(
                ReviewDecision.task_id == task_id, ReviewDecision.label != SKIPPED
            )
        )
    ]
    if len(labels) >= classifier.review_overlap:
        task.status = ReviewStatus.DONE if len(set(labels)) == 1 else ReviewStatus.CONFLICT
        task.final_label = labels[0] if task.status == ReviewStatus.DONE else None
        if task.status == ReviewStatus.DONE:
            session.flush()
            REVIEW_DECIDED.send(session, classifier)
    return task


def resolve_conflict(session: Session, task_id: str, label: str) -> ReviewTask:
    """An admin settles a task whose reviewers disagreed with one of the classifier's labels."""
    task = session.get(ReviewTask, task_id)
    if task is None or task.status != ReviewStatus.CONFLICT:
        raise NotFound(f"no conflict {task_id!r} to resolve")
    classifier = session.get(Classifier, task.classifier_id)
    if classifier is None or label not in classifier.labels:
        raise InvalidRequest(f"{label!r} is not a label of this classifier", field="label")
    task.status, task.final_label = ReviewStatus.DONE, label
    session.flush()
    REVIEW_DECIDED.send(session, classifier)
    return task


def _next_open(session: Session, classifier: Classifier, user_id: int) -> ReviewTask | None:
    mine = select(ReviewDecision.task_id).where(ReviewDecision.user_id == user_id)
    decided = (
        select(func.count())
        .select_from(ReviewDecision)
        .where(ReviewDecision.task_id == ReviewTask.id, ReviewDecision.label != SKIPPED)
        .scalar_subquery()
    )
    leased = (
        select(func.count())
        .select_from(ReviewLease)
        .where(ReviewLease.task_id == ReviewTask.id)
        .scalar_subquery()
    )
    return session.scalar(
        select(ReviewTask)
        .where(
            ReviewTask.classifier_id == classifier.id,
            ReviewTask.status == ReviewStatus.OPEN,
            ReviewTask.id.not_in(mine),
            decided + leased < classifier.review_overlap,
        )
        .order_by(ReviewTask.created_at, ReviewTask.id)
        .limit(1)
    )


def _taken_slots(session: Session, task_id: str) -> set[int]:
    decided = (
        session.scalar(
            select(func.count())
            .select_from(ReviewDecision)
            .where(ReviewDecision.task_id == task_id, ReviewDecision.label != SKIPPED)
        )
        or 0
    )
    leased = set(session.scalars(select(ReviewLease.slot).where(ReviewLease.task_id == task_id)))
    return leased | _decided_slots(decided, leased)


def _decided_slots(decided: int, leased: set[int]) -> set[int]:
    """Slots used up by decisions: the lowest ones not held by a live lease."""
    free = [slot for slot in range(decided + len(leased)) if slot not in leased]
    return set(free[:decided])
