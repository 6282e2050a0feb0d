"""Trained model versions and the movable aliases (``production``, ``shadow``) that name them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from textloop.store.tables.base import Base, utcnow


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("classifier_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int] = mapped_column(ForeignKey("classifiers.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    family: Mapped[str] = mapped_column(String(50))
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"))
    artifact_uri: Mapped[str] = mapped_column(Text)
    labels: Mapped[list[str]] = mapped_column(default=list)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    blessing: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    infra_validation: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelAlias(Base):
    """A movable name (``production``, later ``staging``) pointing at one model version."""

    __tablename__ = "model_aliases"

    classifier_id: Mapped[int] = mapped_column(
        ForeignKey("classifiers.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(50), primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
