"""Usage plans: a monthly request quota and a token-bucket rate, enforced exactly across every
server process that shares the database.

Each request of a key with a plan is admitted or refused in one short transaction that locks the
key's ``KeyUsage`` row for the current UTC month, so two processes can never both spend the last
request of a quota. Keys without a plan never come here: their requests touch no database. The
bucket lives in the month's row too, so it starts full again with each month.

A refused request writes nothing: its transaction is rolled back (refilling the bucket is a
function of the time, so it need not be stored), and the server counts refusals in memory
(``Refusals``) and adds them to the month's rows on its refresher's thread, so that a flood of
429s never queues behind one another on a durable commit.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from textloop.errors import InvalidRequest, NotFound, QuotaExceeded, RateLimited
from textloop.store.database import Store
from textloop.store.tables import ApiKey, KeyUsage, utcnow


@dataclass(frozen=True)
class Plan:
    """``None`` is unlimited. ``burst`` (the bucket's size) is set whenever the rate is."""

    monthly_quota: int | None = None
    rate_per_second: float | None = None
    burst: int | None = None

    @classmethod
    def of(cls, key: ApiKey) -> Plan | None:
        if key.monthly_quota is None and key.rate_per_second is None:
            return None
        burst = key.burst
        if key.rate_per_second is not None and burst is None:
            burst = default_burst(key.rate_per_second)
        return cls(key.monthly_quota, key.rate_per_second, burst)

    def describe(self) -> str:
        parts = []
        if self.monthly_quota is not None:
            parts.append(f"{self.monthly_quota:,}/month")
        if self.rate_per_second is not None:
            parts.append(f"{self.rate_per_second:g}/s (burst {self.burst})")
        return ", ".join(parts)


def default_burst(rate_per_second: float) -> int:
    """A bucket holds at least one request, and a second's worth by default."""
    return max(1, math.ceil(rate_per_second))


def make_plan(
    monthly_quota: int | None, rate_per_second: float | None, burst: int | None
) -> Plan | None:
    """A validated plan, or ``None`` when nothing limits the key."""
    if monthly_quota is not None and monthly_quota < 1:
        raise InvalidRequest("the monthly quota must be at least 1 request", field="quota")
    if rate_per_second is not None and not (math.isfinite(rate_per_second) and rate_per_second > 0):
        raise InvalidRequest("the rate must be a positive number per second", field="rate")
    if burst is not None and rate_per_second is None:
        raise InvalidRequest("a burst needs a rate: give the rate per second too", field="burst")
    if burst is not None and burst < 1:
        raise InvalidRequest("the burst must be at least 1 request", field="burst")
    if monthly_quota is None and rate_per_second is None:
        return None
    if rate_per_second is not None and burst is None:
        burst = default_burst(rate_per_second)
    return Plan(monthly_quota, rate_per_second, burst)


def period_of(moment: float) -> str:
    """The calendar month (UTC) a Unix time falls in, as ``KeyUsage.period`` names it."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m")


def next_period_start(moment: float) -> datetime:
    """When the month of ``moment`` ends and its quota is renewed."""
    day = datetime.fromtimestamp(moment, UTC)
    if day.month == 12:
        return datetime(day.year + 1, 1, 1, tzinfo=UTC)
    return datetime(day.year, day.month + 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Admission:
    """An admitted request, and what its response says about the monthly quota."""

    plan: Plan
    requests: int  # admitted this month, this request included
    resets_at: int  # Unix time the monthly count starts again

    def headers(self) -> dict[str, str]:
        return quota_headers(self.plan, self.requests, self.resets_at)


def quota_headers(plan: Plan, requests: int, resets_at: int) -> dict[str, str]:
    """``X-RateLimit-*`` for a plan with a monthly quota; nothing for a rate alone."""
    if plan.monthly_quota is None:
        return {}
    return {
        "X-RateLimit-Limit": str(plan.monthly_quota),
        "X-RateLimit-Remaining": str(max(0, plan.monthly_quota - requests)),
        "X-RateLimit-Reset": str(resets_at),
    }


class Refusals:
    """Refused requests counted in this process, per key and month, until ``flush`` adds them
    to their rows (the server's refresher does, twice a second, and once more as it stops)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[int, str]] = Counter()

    def count(self, key_id: int, period: str) -> None:
        with self._lock:
            self._counts[key_id, period] += 1

    def pending(self, key_id: int, period: str) -> int:
        """Refusals counted here and not yet added to the row."""
        with self._lock:
            return self._counts[key_id, period]

    def flush(self, store: Store) -> None:
        with self._lock:
            counts, self._counts = self._counts, Counter()
        if not counts:
            return
        try:
            with store.session() as session:
                for (key_id, period), refused in sorted(counts.items()):
                    usage = _locked_usage(session, key_id, period, Plan(), time.time())
                    usage.refused += refused
        except BaseException:
            with self._lock:  # kept for the next flush
                self._counts.update(counts)
            raise


def admit(
    store: Store,
    key_id: int,
    plan: Plan,
    now: float | None = None,
    refusals: Refusals | None = None,
) -> Admission:
    """Count one request of the key against its plan, or refuse it (``QuotaExceeded``,
    ``RateLimited``, both with ``Retry-After``). A refusal is counted in ``refusals`` (written
    later), or, without one, written at once."""
    now = time.time() if now is None else now
    resets = next_period_start(now).timestamp()
    period = period_of(now)
    with store.session() as session:
        usage = _locked_usage(session, key_id, period, plan, now)
        refusal = _refusal(usage, plan, now, resets)
        if refusal is None:
            usage.requests += 1
            if plan.rate_per_second is not None:
                usage.tokens -= 1
            usage.updated_at = utcnow()
            requests = usage.requests
        else:
            session.rollback()  # nothing to keep: no durable commit per refusal
    if refusal is None:
        return Admission(plan, requests, int(resets))
    if refusals is not None:
        refusals.count(key_id, period)
    else:
        one = Refusals()
        one.count(key_id, period)
        one.flush(store)
    raise refusal


def _refusal(
    usage: KeyUsage, plan: Plan, now: float, resets: float
) -> QuotaExceeded | RateLimited | None:
    """Refill the bucket to ``now``; the error to answer if the request may not pass."""
    if plan.rate_per_second is not None and plan.burst is not None:
        elapsed = max(0.0, now - usage.tokens_at)  # another process's clock may be behind
        usage.tokens = min(float(plan.burst), usage.tokens + elapsed * plan.rate_per_second)
        usage.tokens_at = now
    quota = plan.monthly_quota
    if quota is not None and usage.requests >= quota:
        until = datetime.fromtimestamp(resets, UTC).strftime("%Y-%m-%d %H:%M UTC")
        headers = _retry_after(resets - now) | quota_headers(plan, usage.requests, int(resets))
        return QuotaExceeded(
            f"this API key's monthly quota of {quota:,} requests is used up until {until}",
            headers=headers,
        )
    if plan.rate_per_second is not None and usage.tokens < 1:
        wait = (1 - usage.tokens) / plan.rate_per_second
        headers = _retry_after(wait) | quota_headers(plan, usage.requests, int(resets))
        return RateLimited(
            f"this API key may make {plan.rate_per_second:g} requests per second "
            f"(bursts of {plan.burst}); retry in {math.ceil(wait)} s",
            headers=headers,
        )
    return None


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def _locked_usage(session: Session, key_id: int, period: str, plan: Plan, now: float) -> KeyUsage:
    """The month's row, locked until the transaction ends; inserted first if missing, so that
    concurrent first requests from several processes agree on one row (the loser of the
    insert waits for the winner's commit, then locks the same row)."""
    query = (
        select(KeyUsage)
        .where(KeyUsage.api_key_id == key_id, KeyUsage.period == period)
        .with_for_update()
    )
    usage = session.scalar(query)
    if usage is None:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(
            dialect.insert(KeyUsage)
            .values(
                api_key_id=key_id,
                period=period,
                requests=0,
                refused=0,
                tokens=float(plan.burst or 0),  # the bucket starts full
                tokens_at=now,
                updated_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["api_key_id", "period"])
        )
        usage = session.scalar(query)
    assert usage is not None, "the row was just inserted, and keys are revoked, never deleted"
    return usage


@dataclass(frozen=True)
class UsageReport:
    """One key's use of the current month, as ``GET /v1/usage`` and the portal show it."""

    key_id: int
    prefix: str
    name: str
    plan: Plan | None
    period: str
    requests: int
    refused: int
    remaining: int | None  # of the monthly quota; None without one
    resets_at: datetime


def usage_report(
    session: Session, key_id: int, now: float | None = None, pending: Refusals | None = None
) -> UsageReport:
    """``pending``: this process's refusals not yet stored, counted in."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} does not exist", field="key_id")
    return _reports(session, [key], now, pending)[0]


def usage_reports(
    session: Session, now: float | None = None, pending: Refusals | None = None
) -> list[UsageReport]:
    """Every key that is not revoked or was used this month, oldest key first."""
    now = time.time() if now is None else now
    used = select(KeyUsage.api_key_id).where(KeyUsage.period == period_of(now))
    keys = session.scalars(
        select(ApiKey)
        .where(or_(ApiKey.revoked_at.is_(None), ApiKey.id.in_(used)))
        .order_by(ApiKey.id)
    ).all()
    return _reports(session, list(keys), now, pending)


def _reports(
    session: Session, keys: list[ApiKey], now: float | None, pending: Refusals | None
) -> list[UsageReport]:
    now = time.time() if now is None else now
    period, resets = period_of(now), next_period_start(now)
    rows = session.scalars(
        select(KeyUsage).where(
            KeyUsage.period == period, KeyUsage.api_key_id.in_([key.id for key in keys])
        )
    ).all()
    usage = {row.api_key_id: row for row in rows}
    reports = []
    for key in keys:
        plan, row = Plan.of(key), usage.get(key.id)
        requests, refused = (row.requests, row.refused) if row is not None else (0, 0)
        refused += pending.pending(key.id, period) if pending is not None else 0
        quota = plan.monthly_quota if plan is not None else None
        remaining = max(0, quota - requests) if quota is not None else None
        reports.append(
            UsageReport(
                key.id, key.prefix, key.name, plan, period, requests, refused, remaining, resets
            )
        )
    return reports
