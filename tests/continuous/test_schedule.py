"""Cron schedules: parsed strictly, next firing computed in UTC, and fired once by a worker."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from textloop.continuous.schedule import parse_schedule
from textloop.continuous.triggers import configure, fire_due_schedules
from textloop.errors import InvalidRequest
from textloop.store import Store
from textloop.store.tables import Job

pytestmark = pytest.mark.storage

SATURDAY = datetime(2026, 11, 28, 0, 45, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0 3 * * *", datetime(2026, 11, 28, 3, 0, tzinfo=UTC)),
        ("*/15 * * * *", datetime(2026, 11, 28, 1, 0, tzinfo=UTC)),
        ("0 9 * * 1-5", datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),  # Monday
        ("30 6 1 * 0", datetime(2026, 11, 29, 6, 30, tzinfo=UTC)),  # Sunday, or the 1st
        ("0 0 1 1,7 *", datetime(2027, 1, 1, 0, 0, tzinfo=UTC)),
        ("0 12 * * 7", datetime(2026, 11, 29, 12, 0, tzinfo=UTC)),  # 7 is Sunday too
    ],
)
def test_the_next_firing_is_the_first_matching_minute_after(text: str, expected: datetime) -> None:
    assert parse_schedule(text).next_after(SATURDAY) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 3 * *", "a schedule has 5 fields"),
        ("61 * * * *", "minute must lie within 0-59"),
        ("x * * * *", "'x' is not a valid minute field"),
        ("*/0 * * * *", "minute must lie within"),
        ("0 0 30 2 *", "never fires"),
    ],
)
def test_bad_schedules_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parse_schedule(text)


def test_a_schedule_fires_once_for_the_occasions_a_worker_missed(
    store: Store, classifier_id: int
) -> None:
    with store.session() as session:
        configure(session, "topics", schedule="0 3 * * *")
        assert fire_due_schedules(session, SATURDAY) == []  # first seen: counts from now
        assert fire_due_schedules(session, SATURDAY + timedelta(hours=2)) == []
        two_days_later = SATURDAY + timedelta(days=2)
        fired = fire_due_schedules(session, two_days_later)
        assert [(job.kind, job.payload["trigger"]) for job in fired] == [("retrain", "schedule")]
        assert fire_due_schedules(session, two_days_later + timedelta(minutes=5)) == []
        assert len(session.scalars(select(Job)).all()) == 1
        configure(session, "topics", schedule="")
        assert fire_due_schedules(session, two_days_later + timedelta(days=3)) == []
