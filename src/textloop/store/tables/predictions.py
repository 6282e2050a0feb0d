"""What production answered and what users said of it: predictions, feedback, the shadow
model's answers beside them, and drift reports over windows of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from textloop.store.tables.base import Base, new_id, utcnow


class Prediction(Base):
    __tablename__ = "predictions"
    __table_args__ = (Index("ix_predictions_classifier_created", "classifier_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    classifier_id: Mapped[int] = mapped_column(ForeignKey("classifiers.id", ondelete="CASCADE"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    # the alias that chose the version (production, staging); None: a version pinned by id
    alias: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # answered "out of scope": the text fits none of the labels (``label`` is the nearest one)
    out_of_scope: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    classifier_id: Mapped[int] = mapped_column(ForeignKey("classifiers.id", ondelete="CASCADE"))
    prediction_id: Mapped[str | None] = mapped_column(ForeignKey("predictions.id"))
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(Text)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShadowPrediction(Base):
    """A shadow model's answer to a request production answered: kept to measure agreement
    before the shadow is promoted; never returned to the caller."""

    __tablename__ = "shadow_predictions"
    __table_args__ = (Index("ix_shadow_predictions_model", "model_version_id", "created_at"),)

    prediction_id: Mapped[str] = mapped_column(
        ForeignKey("predictions.id", ondelete="CASCADE"), primary_key=True
    )
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), primary_key=True)
    label: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    agreed: Mapped[bool] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DriftReport(Base):
    """One comparison of a window of recent predictions with the production model's held-out
    rows: each measure, the ones over their threshold, and whether that means drift."""

    __tablename__ = "drift_reports"
    __table_args__ = (Index("ix_drift_reports_classifier", "classifier_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int] = mapped_column(ForeignKey("classifiers.id", ondelete="CASCADE"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    window_size: Mapped[int] = mapped_column(Integer)
    window_end: Mapped[datetime] = mapped_column()  # when the newest prediction in it was made
    measures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    breached: Mapped[list[str]] = mapped_column(default=list)
    drifted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
