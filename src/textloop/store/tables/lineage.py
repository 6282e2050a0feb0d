"""The metadata graph (ML Metadata style): artifacts, the executions that consumed or produced
them (events), and the contexts (pipeline runs) executions are grouped in."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from textloop.store.tables.base import Base, utcnow


class RunStatus(StrEnum):
    """A pipeline run's (a context's): running until it closes."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ExecutionStatus(StrEnum):
    """One step's: recorded when it ends, so never running."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CACHED = "cached"  # an identical earlier execution's outputs were reused


class Artifact(Base):
    """Anything a step produced: a dataset version, a model version, a deployment, ..."""

    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int | None] = mapped_column(
        ForeignKey("classifiers.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(50))
    uri: Mapped[str] = mapped_column(String(500), unique=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Context(Base):
    """A group of executions: one pipeline run (``train``, ``ingest``, ``deploy``).

    The other context of an execution, its classifier, is the ``classifier_id`` both carry.
    """

    __tablename__ = "contexts"

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int | None] = mapped_column(
        ForeignKey("classifiers.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(30), default="pipeline_run")
    name: Mapped[str] = mapped_column(String(50))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.RUNNING)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


class Execution(Base):
    """One run of one component (a pipeline step, ingest, deploy), successful or not."""

    __tablename__ = "executions"

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int | None] = mapped_column(
        ForeignKey("classifiers.id", ondelete="CASCADE")
    )
    component: Mapped[str] = mapped_column(String(50))
    textloop_version: Mapped[str] = mapped_column(String(50))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20))  # an ExecutionStatus
    error: Mapped[str | None] = mapped_column(Text)
    cache_key: Mapped[str | None] = mapped_column(String(64), index=True)
    context_id: Mapped[int | None] = mapped_column(
        ForeignKey("contexts.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


class Event(Base):
    """An execution consumed (``input``) or produced (``output``) an artifact."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_artifact", "artifact_id", "kind"),)

    execution_id: Mapped[int] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    artifact_id: Mapped[int] = mapped_column(
        ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
