"""Backfill over a date range: retrain on each dataset version created in it, as it was.

Each version becomes one backfill retrain (no merge of newer labels), queued oldest first, so a
fix to training code can be replayed over a period's data and compared version by version.
Dates are UTC; a bare date as ``until`` includes that whole day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.continuous.triggers import request_retrain
from textloop.errors import InvalidRequest
from textloop.store.queries import get_classifier
from textloop.store.tables import DatasetVersion, Job


def parse_moment(text: str, field: str, *, end_of_day: bool = False) -> datetime:
    """``2026-11-01`` or an ISO 8601 date-time; naive times are UTC. ``end_of_day``: a bare date
    means the moment after that day (the last day of the calendar has no day after: the end of
    time, then)."""
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            if not end_of_day:
                return moment
            try:
                return moment + timedelta(days=1)
            except OverflowError:
                return datetime.max.replace(tzinfo=UTC)
        moment = datetime.fromisoformat(text.strip())
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidRequest(
            f"{text!r} is not a date (2026-11-01) or an ISO 8601 date-time within 0001-9999",
            field=field,
        ) from None


def request_backfill(
    session: Session,
    name: str,
    since: datetime | None,
    until: datetime | None,
    model: str | None = None,
    reason: str = "backfill",
) -> list[Job]:
    """Queue one backfill per dataset version created in [since, until), oldest first."""
    if since is not None and until is not None and since >= until:
        raise InvalidRequest("the range is empty: since must come before until", field="since")
    classifier = get_classifier(session, name)
    query = select(DatasetVersion).where(DatasetVersion.classifier_id == classifier.id)
    if since is not None:
        query = query.where(DatasetVersion.created_at >= since)
    if until is not None:
        query = query.where(DatasetVersion.created_at < until)
    versions = session.scalars(query.order_by(DatasetVersion.version)).all()
    if not versions:
        raise InvalidRequest(
            f"no dataset version of {name!r} was created in that range", field="since"
        )
    return [request_retrain(session, name, reason, model, v.version) for v in versions]
