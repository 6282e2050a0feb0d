"""Cron schedules for retraining, evaluated in UTC (fired by ``triggers.fire_due_schedules``).

Five fields: minute, hour, day of month, month, day of week (0-6 from Sunday; 7 is Sunday too).
Each is ``*``, ``*/step``, ``n``, ``a-b``, ``a-b/step`` or a comma list of those. As in cron, when
both day fields are restricted a day matching either one fires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from textloop.errors import InvalidRequest
from textloop.store.tables import utcnow

FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
HORIZON = timedelta(days=366 * 5)  # 29 February on a Monday can be years away


@dataclass(frozen=True)
class Schedule:
    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    def _day_matches(self, moment: datetime) -> bool:
        day = moment.day in self.days
        weekday = (moment.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return day and weekday
        return day or weekday

    def next_after(self, moment: datetime) -> datetime:
        """The first matching minute strictly after ``moment``."""
        current = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = moment + HORIZON
        while current <= limit:
            if current.month not in self.months:
                year, month = divmod(current.month, 12)
                current = current.replace(
                    year=current.year + year, month=month + 1, day=1, hour=0, minute=0
                )
            elif not self._day_matches(current):
                current = (current + timedelta(days=1)).replace(hour=0, minute=0)
            elif current.hour not in self.hours:
                current = (current + timedelta(hours=1)).replace(minute=0)
            elif current.minute not in self.minutes:
                current += timedelta(minutes=1)
            else:
                return current
        raise InvalidRequest(f"schedule {self.text!r} never fires", field="schedule")


def parse_schedule(text: str) -> Schedule:
    parts = text.split()
    if len(parts) != len(FIELDS):
        raise InvalidRequest(
            f"a schedule has 5 fields (minute hour day-of-month month day-of-week), "
            f"not {len(parts)}: {text!r}",
            field="schedule",
        )
    values = [_field(part, *spec) for part, spec in zip(parts, FIELDS, strict=True)]
    weekdays = frozenset(day % 7 for day in values[4])
    schedule = Schedule(
        text,
        values[0],
        values[1],
        values[2],
        values[3],
        weekdays,
        any_day=parts[2] == "*",
        any_weekday=parts[4] == "*",
    )
    schedule.next_after(utcnow())  # refuse one that never fires (30 February)
    return schedule


def _field(part: str, name: str, low: int, high: int) -> frozenset[int]:
    chosen: set[int] = set()
    for item in part.split(","):
        body, _, step_text = item.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if body == "*":
                start, end = low, high
            elif "-" in body:
                first, last = body.split("-", 1)
                start, end = int(first), int(last)
            else:
                start = end = int(body)
        except ValueError:
            raise InvalidRequest(
                f"{item!r} is not a valid {name} field", field="schedule"
            ) from None
        if step < 1 or not low <= start <= end <= high:
            raise InvalidRequest(f"{item!r}: {name} must lie within {low}-{high}", field="schedule")
        chosen.update(range(start, end + 1, step))
    return frozenset(chosen)
