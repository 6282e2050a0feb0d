"""The events page's filter: the newest events of one classifier, of one type, or both.

``GET /v1/events`` pages oldest first from a cursor; the page shows only the newest few, so it
asks for those newest first, filtered in SQL (filtering the newest 50 afterwards would show
few, or none, of a rare type). Both filters come from a plain GET form; a blank one filters
nothing, an unknown type or classifier is refused naming what there is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy import select

from textloop.notifications.events import check_event_types, event_types
from textloop.serving.deps import SessionDep
from textloop.serving.portal.session import PortalAccount
from textloop.serving.routes.audit import Blank, Words
from textloop.store.queries import get_classifier
from textloop.store.tables import Classifier, SystemEvent


@dataclass(frozen=True)
class EventFilter:
    """The events asked for, and the choices the form offers."""

    classifier: str | None  # a classifier's name
    classifier_id: int | None
    event_type: str | None
    classifiers: list[str]
    event_types: list[str]

    def chosen(self) -> dict[str, str]:
        """The filters set, under the names the form sends them."""
        return {
            name: value
            for name, value in (("classifier", self.classifier), ("type", self.event_type))
            if value
        }


def event_filter(
    session: SessionDep,
    account: PortalAccount,
    classifier: Annotated[Words, Blank, Query()] = None,
    event_type: Annotated[Words, Blank, Query(alias="type")] = None,
) -> EventFilter:
    """The filter in the address (``?classifier=topics&type=model.deployed``), for admins only:
    checked first, so that nobody else learns from a refusal which classifiers exist."""
    account.require_admin()
    if event_type is not None:
        check_event_types([event_type], "type")
    return EventFilter(
        classifier=classifier,
        classifier_id=get_classifier(session, classifier).id if classifier else None,
        event_type=event_type,
        classifiers=list(session.scalars(select(Classifier.name).order_by(Classifier.name))),
        event_types=sorted(event_types.names()),
    )


EventFilterQuery = Annotated[EventFilter, Depends(event_filter)]


def newest_events(session: SessionDep, where: EventFilter, limit: int) -> list[SystemEvent]:
    """The newest ``limit`` events that match, newest first."""
    query = select(SystemEvent).order_by(SystemEvent.id.desc()).limit(limit)
    if where.classifier_id is not None:
        query = query.where(SystemEvent.classifier_id == where.classifier_id)
    if where.event_type is not None:
        query = query.where(SystemEvent.type == where.event_type)
    return list(session.scalars(query))
