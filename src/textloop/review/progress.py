"""What one reviewer sees of their own work on a classifier: tasks left for them, decisions made
today, their recent decisions (to undo or revise), and the labels they pick most.

These are the reviewer's numbers, not the queue's: with two reviewers per task a task one of
them decided is still open, but no longer left for that one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from textloop.review.assignments import SKIPPED, counted_decisions, revisable
from textloop.store.tables import (
    Classifier,
    ReviewDecision,
    ReviewLease,
    ReviewStatus,
    ReviewTask,
    utcnow,
)

RECENT = 50  # decisions listed under "my recent decisions"


@dataclass(frozen=True)
class Progress:
    left: int  # open tasks this reviewer may still be handed (or holds)
    done_today: int  # their decisions since midnight UTC, skips included


@dataclass(frozen=True)
class RecentDecision:
    task_id: str
    text: str
    label: str | None  # None: "none of these"; SKIPPED: a skip
    decided_at: datetime
    status: str  # the task's status now
    revisable: bool  # may still be taken back (``assignments.withdraw``)

    @property
    def skipped(self) -> bool:
        return self.label == SKIPPED


def progress(session: Session, classifier: Classifier, user_id: int) -> Progress:
    """How many tasks are left for the reviewer and how many they decided today."""
    mine = select(ReviewDecision.task_id).where(ReviewDecision.user_id == user_id)
    decided = counted_decisions()
    held_by_others = (
        select(func.count())
        .select_from(ReviewLease)
        .where(
            ReviewLease.task_id == ReviewTask.id,
            ReviewLease.user_id != user_id,
            ReviewLease.expires_at > utcnow(),
        )
        .scalar_subquery()
    )
    left = session.scalar(
        select(func.count())
        .select_from(ReviewTask)
        .where(
            ReviewTask.classifier_id == classifier.id,
            ReviewTask.status == ReviewStatus.OPEN,
            ReviewTask.id.not_in(mine),
            decided + held_by_others < classifier.review_overlap,
        )
    )
    midnight = datetime.combine(utcnow().date(), time(), tzinfo=UTC)
    done_today = session.scalar(
        select(func.count())
        .select_from(ReviewDecision)
        .join(ReviewTask, ReviewTask.id == ReviewDecision.task_id)
        .where(
            ReviewTask.classifier_id == classifier.id,
            ReviewDecision.user_id == user_id,
            ReviewDecision.created_at >= midnight,
        )
    )
    return Progress(left=left or 0, done_today=done_today or 0)


def recent_decisions(
    session: Session, classifier: Classifier, user_id: int, limit: int = RECENT
) -> list[RecentDecision]:
    """The reviewer's latest decisions on the classifier's tasks, newest first."""
    rows = session.execute(
        select(ReviewDecision, ReviewTask)
        .join(ReviewTask, ReviewTask.id == ReviewDecision.task_id)
        .where(ReviewTask.classifier_id == classifier.id, ReviewDecision.user_id == user_id)
        .order_by(ReviewDecision.created_at.desc(), ReviewDecision.id.desc())
        .limit(limit)
    ).all()
    return [
        RecentDecision(
            task_id=task.id,
            text=task.text,
            label=decision.label,
            decided_at=decision.created_at,
            status=task.status,
            revisable=revisable(session, task),
        )
        for decision, task in rows
    ]


def favourite_labels(session: Session, classifier: Classifier, user_id: int) -> list[str]:
    """The classifier's labels this reviewer chose, most often first (ties alphabetically)."""
    rows = session.execute(
        select(ReviewDecision.label, func.count().label("uses"))
        .join(ReviewTask, ReviewTask.id == ReviewDecision.task_id)
        .where(
            ReviewTask.classifier_id == classifier.id,
            ReviewDecision.user_id == user_id,
            ReviewDecision.label.is_not(None),
            ReviewDecision.label != SKIPPED,
        )
        .group_by(ReviewDecision.label)
    ).all()
    known = set(classifier.labels)
    ranked = sorted(((-uses, label) for label, uses in rows if label in known))
    return [label for _, label in ranked]
