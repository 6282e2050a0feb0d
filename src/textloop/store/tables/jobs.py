"""Background work: the durable job queue, the workers that run it, and batch classification
jobs (each run by one queue job)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from textloop.store.tables.base import Base, new_id, utcnow


class JobStatus(StrEnum):
    """``queued`` -> ``running`` -> ``succeeded``; a failure queues it again until its last
    attempt, which leaves it ``dead``."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DEAD = "dead"


class BatchStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Job(Base):
    """Background work (a retrain): queued, running, succeeded or dead; kept as history."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_due", "status", "run_after"),
        # one running job per classifier and kind, even when two workers claim at once
        Index(
            "ux_jobs_one_running",
            "classifier_id",
            "kind",
            unique=True,
            sqlite_where=text(f"status = '{JobStatus.RUNNING}'"),
            postgresql_where=text(f"status = '{JobStatus.RUNNING}'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    classifier_id: Mapped[int | None] = mapped_column(
        ForeignKey("classifiers.id", ondelete="CASCADE")
    )
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str] = mapped_column(String(200), default="by hand")
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    worker: Mapped[str | None] = mapped_column(String(100), default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkerPresence(Base):
    """A running worker, seen every few seconds even when idle (``jobs.presence``; 0015)."""

    __tablename__ = "worker_presence"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class BatchJob(Base):
    """A batch classification run by a worker: its input, pinned model version, progress and
    output. The queue ``Job`` that runs it is retried like any job; the chunks already written
    survive a dead worker, so its successor carries on from them."""

    __tablename__ = "batch_jobs"
    __table_args__ = (Index("ix_batch_jobs_classifier", "classifier_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    classifier_id: Mapped[int] = mapped_column(ForeignKey("classifiers.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), default=None)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    api_key_id: Mapped[int | None] = mapped_column(Integer, default=None)  # who submitted it
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.QUEUED)
    input_path: Mapped[str] = mapped_column(Text)
    input_hash: Mapped[str] = mapped_column(String(64))
    output_path: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(16))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_failed: Mapped[int] = mapped_column(Integer, default=0)  # rows without a prediction
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    review_tasks: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)  # spent scoring, over all attempts
