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
from textloop.plugins import Registry
from textloop.store.database import Store
from textloop.store.tables import SystemEvent


class EventType:
    """One kind of event, registered by name like every other plug-in, so an extension can
    announce events of its own and webhooks can subscribe to them."""

    def __init__(self, meaning: str) -> None:
        self.meaning = meaning


event_types = Registry("event type", "event types", "event_type", lambda: None)
for _name, _meaning in (
    ("run.started", "a training run began"),
    ("run.succeeded", "a training run finished"),
    ("run.failed", "a training run failed"),
    ("model.blessed", "a trained version beat production on the gates"),
    ("model.rejected", "a trained version did not pass the gates"),
    ("model.deployed", "a version became production"),
    ("model.staged", "a version became staging, to be tried before it is promoted"),
    ("model.rolled_back", "production went back to an earlier version"),
    ("drift.detected", "production traffic drifted from the training data"),
):
    event_types.register(_name)(EventType(_meaning))


def check_event_types(types: list[str] | None, field: str) -> None:
    """Refuse a name no event type is registered under, listing the ones that are."""
    known = event_types.names()
    unknown = sorted(set(types or []) - set(known))
    if unknown:
        raise InvalidRequest(
            f"unknown event type {unknown[0]!r}; the types are: {', '.join(known)}", field=field
        )


MAX_PAGE = 500
EMIT_LOCK = 0x7465_7874  # an advisory lock key of our own


def emit(store: Store, classifier_id: int | None, event_type: str, **data: Any) -> int:
    """Record an event at once (its own transaction) and return its id."""
    if event_type not in event_types.names():
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
    check_event_types(types, "type")
    query = select(SystemEvent).where(SystemEvent.id > after)
    if classifier_id is not None:
        query = query.where(SystemEvent.classifier_id == classifier_id)
    if types:
        query = query.where(SystemEvent.type.in_(types))
    return list(session.scalars(query.order_by(SystemEvent.id).limit(limit)))
