"""Events: one row per thing worth hearing of, in order; the row id is the cursor.

Emitted in their own committed transaction by whoever saw the thing happen, so a run that then
fails still leaves its ``run.started`` and ``run.failed`` behind; the same transaction queues the
event for every webhook that wants it. Readers page with ``after``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from textloop.errors import InvalidRequest
from textloop.store.database import Store
from textloop.store.tables import SystemEvent

EVENT_TYPES = (
    "run.started",
    "run.succeeded",
    "run.failed",
    "model.blessed",
    "model.rejected",
    "model.deployed",
    "model.rolled_back",
    "drift.detected",
)
MAX_PAGE = 500
EMIT_LOCK = 0x7465_7874  # an advisory lock key of our own


def emit(store: Store, classifier_id: int | None, event_type: str, **data: Any) -> int:
    """Record an event at once (its own transaction) and return its id."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    from textloop.notifications.webhooks import fan_out

    with store.session() as session:
        if session.get_bind().dialect.name == "postgresql":
            # Ids come from a sequence, so two concurrent emits could commit out of id order
            # and a reader paging past the higher id would miss the lower one: take turns.
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EMIT_LOCK})
        event = SystemEvent(classifier_id=classifier_id, type=event_type, data=data)
        session.add(event)
        session.flush()
        fan_out(session, event)
        return event.id


def list_events(
    session: Session,
    after: int = 0,
    limit: int = 100,
    classifier_id: int | None = None,
    types: list[str] | None = None,
) -> list[SystemEvent]:
    """Events with an id above ``after``, oldest first; pass the last id back to page on."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}, not {limit}", field="limit")
    unknown = sorted(set(types or []) - set(EVENT_TYPES))
    if unknown:
        raise InvalidRequest(
            f"unknown event type {unknown[0]!r}; the types are: {', '.join(EVENT_TYPES)}",
            field="type",
        )
    query = select(SystemEvent).where(SystemEvent.id > after)
    if classifier_id is not None:
        query = query.where(SystemEvent.classifier_id == classifier_id)
    if types:
        query = query.where(SystemEvent.type.in_(types))
    return list(session.scalars(query.order_by(SystemEvent.id).limit(limit)))
