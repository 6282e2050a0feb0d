"""Things people may want to hear of, and webhooks: where to send them and each delivery."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from textloop.store.tables.base import Base, utcnow


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # until the receiver answers 2xx, retried with backoff
    DELIVERED = "delivered"
    DEAD = "dead"  # out of attempts


class SystemEvent(Base):
    """Something people may want to hear of (``run.succeeded``, ``model.deployed``); the id is
    the cursor that ``GET /v1/events`` pages by."""

    __tablename__ = "system_events"
    __table_args__ = (Index("ix_system_events_classifier", "classifier_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int | None] = mapped_column(
        ForeignKey("classifiers.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(50))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Webhook(Base):
    """Where to POST events: a URL, the secret that signs the body, and which event types."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int | None] = mapped_column(
        ForeignKey("classifiers.id", ondelete="CASCADE")
    )  # None: every classifier's events
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    event_types: Mapped[list[str]] = mapped_column(default=list)  # empty: every type
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event for one webhook: pending until the receiver answers 2xx, or dead."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("system_events.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
