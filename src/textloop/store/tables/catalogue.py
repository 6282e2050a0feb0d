"""Classifiers and their data: the classifier's settings, dataset versions and their examples."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from textloop.store.stored_labels import Mode
from textloop.store.tables.base import Base, utcnow


class DeployMode(StrEnum):
    """Whether a blessed retrained candidate deploys by itself or waits for an admin."""

    AUTO = "auto"
    MANUAL = "manual"


class Classifier(Base):
    __tablename__ = "classifiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    threshold: Mapped[float] = mapped_column(Float, default=0.5)
    # fixed at creation: a multi-label classifier's ``labels`` are the names its label sets
    # use, and its examples store each set encoded in ``Example.label`` (``stored_labels``)
    mode: Mapped[str] = mapped_column(
        String(20), default=Mode.SINGLE_LABEL.value, server_default=Mode.SINGLE_LABEL.value
    )
    labels: Mapped[list[str]] = mapped_column(default=list)
    # whether answers may say "out of scope" (where the model carries a detector): on unless
    # turned off, which gives the answers of a model without one exactly
    out_of_scope: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # the label the data marks texts that fit no label with, if any (``scope_settings``, 0025)
    out_of_scope_label: Mapped[str | None] = mapped_column(Text, default=None)
    data_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    review_overlap: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Continuous training: retrain after this many new reviewed labels (0: never by count), and
    # whether a blessed candidate deploys by itself or waits for an admin (``DeployMode``).
    retrain_after: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    deploy_mode: Mapped[str] = mapped_column(
        String(10), default=DeployMode.AUTO, server_default=DeployMode.AUTO.value
    )
    retrain_schedule: Mapped[str | None] = mapped_column(String(100), default=None)  # cron, UTC
    schedule_checked_at: Mapped[datetime | None] = mapped_column(default=None)
    retrain_model: Mapped[str | None] = mapped_column(String(50), default=None)  # None: auto
    drift_window: Mapped[int] = mapped_column(Integer, default=500, server_default="500")
    drift_thresholds: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Extra columns every training reports test metrics by, unless one names its own (0015).
    slice_columns: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    guidelines: Mapped[str | None] = mapped_column(Text, default=None)  # markdown, for reviewers
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetVersion(Base):
    """An immutable snapshot of labelled examples, addressed by the hash of its content."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("classifier_id", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int] = mapped_column(ForeignKey("classifiers.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    row_count: Mapped[int] = mapped_column(Integer)
    split_counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    statistics: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    anomalies: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Example(Base):
    """One cleaned row; ``extras`` holds the file's other columns (name -> text or null)."""

    __tablename__ = "examples"
    __table_args__ = (Index("ix_examples_dataset_split", "dataset_version_id", "split"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_version_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="CASCADE")
    )
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text)  # a label, or an encoded label set (multi-label)
    text_hash: Mapped[str] = mapped_column(String(64))
    split: Mapped[str] = mapped_column(String(16))
    extras: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
