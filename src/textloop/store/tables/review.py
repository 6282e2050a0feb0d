"""Human review: tasks, the leases reviewers hold on them, their decisions, and the pool of
unlabelled texts tasks are sampled from.

A task is ``open`` until ``review_overlap`` reviewers decided; then ``done`` (they agreed) or
``conflict`` (an admin settles it). Label-quality checks may mark a done one ``flagged``: its
label does not train, and a ``second_review`` task asks for the text again.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from textloop.store.tables.base import Base, new_id, utcnow


class ReviewStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CONFLICT = "conflict"
    FLAGGED = "flagged"  # a done label that label-quality checks doubt


class TaskSource(StrEnum):
    """Why a review task was opened."""

    IMPLICIT = "implicit"  # the model was unsure of an answer (a request's or a batch row's)
    EXPLICIT = "explicit"  # a user said the model was wrong (feedback)
    POOL = "pool"  # sampled from the unlabelled pool by active learning
    SECOND_REVIEW = "second_review"  # a flagged label, asked again
    OUT_OF_SCOPE = "out_of_scope"  # answered "fits none of the labels": which, or a new one?
    DISCOVERED = "discovered"  # in a cluster an admin made a new label of (``discover``)


# the sources of the model's own doubts, which open at most one task per prediction
MODEL_DOUBTS = (TaskSource.IMPLICIT, TaskSource.OUT_OF_SCOPE)


class ReviewTask(Base):
    __tablename__ = "review_tasks"
    __table_args__ = (Index("ix_review_tasks_queue", "classifier_id", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    classifier_id: Mapped[int] = mapped_column(ForeignKey("classifiers.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))  # a TaskSource
    status: Mapped[str] = mapped_column(String(16), default=ReviewStatus.OPEN)
    text: Mapped[str] = mapped_column(Text)
    suggested_label: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    reported_label: Mapped[str | None] = mapped_column(Text)
    prediction_id: Mapped[str | None] = mapped_column(ForeignKey("predictions.id"))
    feedback_id: Mapped[str | None] = mapped_column(ForeignKey("feedback.id"))
    # What reviewers agreed on; None on a done task: they agreed that none of the labels fits.
    final_label: Mapped[str | None] = mapped_column(Text)
    settle_comment: Mapped[str | None] = mapped_column(Text, default=None)  # why, on a conflict
    scores: Mapped[dict[str, float] | None] = mapped_column(JSON, default=None)  # model's top 5
    # The dataset version the agreed label was merged into for training; None until then.
    merged_into: Mapped[int | None] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PoolText(Base):
    """An unlabelled text waiting to be chosen for review; each text once per classifier."""

    __tablename__ = "pool_texts"
    __table_args__ = (UniqueConstraint("classifier_id", "text_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int] = mapped_column(ForeignKey("classifiers.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    sampled_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewLease(Base):
    """One of a task's ``review_overlap`` slots, held by a reviewer until it expires."""

    __tablename__ = "review_leases"

    task_id: Mapped[str] = mapped_column(
        ForeignKey("review_tasks.id", ondelete="CASCADE"), primary_key=True
    )
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column()


class ReviewDecision(Base):
    """A reviewer's label for a task: a label, empty for a skip, or none (NULL) when they found
    that none of the labels fits; one per reviewer and task."""

    __tablename__ = "review_decisions"
    __table_args__ = (UniqueConstraint("task_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("review_tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    label: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProposalStatus(StrEnum):
    PENDING = "pending"  # waiting for an admin
    APPROVED = "approved"  # the name is a label now
    REJECTED = "rejected"  # the tasks stay "none of these"
    SUPERSEDED = "superseded"  # an admin settled its task first (``resolve_conflict``)


class LabelProposal(Base):
    """A name a reviewer proposes as a new label for a task's text, beside their decision on
    the task, which is "none of these" (0024). The proposal belongs to that decision (the
    foreign key to it): taking the decision back (undo, revise) takes the proposal with it."""

    __tablename__ = "label_proposals"
    __table_args__ = (
        UniqueConstraint("task_id", "user_id"),
        ForeignKeyConstraint(
            ["task_id", "user_id"],
            ["review_decisions.task_id", "review_decisions.user_id"],
            ondelete="CASCADE",
        ),
        Index("ix_label_proposals_queue", "classifier_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int] = mapped_column(ForeignKey("classifiers.id", ondelete="CASCADE"))
    task_id: Mapped[str] = mapped_column(ForeignKey("review_tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))  # proposer
    name: Mapped[str] = mapped_column(Text)  # the proposed label, as ``new_labels`` checked it
    status: Mapped[str] = mapped_column(String(16), default=ProposalStatus.PENDING)
    # the admin who approved or rejected it; None while pending, or when decided by the CLI
    decided_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
