"""A key's usage plan: a monthly quota and a rate with a burst, counted in the database so
every server process agrees; over either, 429 with ``Retry-After`` in the one error shape."""

import math
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from tests.security.conftest import CLASSIFY, TEXT, Issuer
from tests.serving.conftest import settle
from textloop.errors import InvalidRequest, QuotaExceeded, RateLimited
from textloop.security.usage import (
    Plan,
    Refusals,
    admit,
    make_plan,
    next_period_start,
    period_of,
)
from textloop.store import Store
from textloop.store.tables import KeyUsage, Prediction

pytestmark = pytest.mark.storage


def usage_row(store: Store, key_id: int) -> KeyUsage:
    with store.session() as session:
        (row,) = session.scalars(select(KeyUsage).where(KeyUsage.api_key_id == key_id)).all()
        return row


def test_a_quota_of_n_admits_exactly_n_requests_then_answers_429(
    client: TestClient, issue: Issuer, deployed: Store
) -> None:
    key_id, key = issue(monthly_quota=3)
    resets = int(next_period_start(time.time()).timestamp())
    answers = [client.post(CLASSIFY, json=TEXT, headers={"x-api-key": key}) for _ in range(5)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0", "0"]
    assert {a.headers["x-ratelimit-limit"] for a in answers} == {"3"}
    assert {a.headers["x-ratelimit-reset"] for a in answers} == {str(resets)}
    refused = answers[3]
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert "monthly quota of 3 requests is used up until" in refused.json()["error"]["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= math.ceil(resets - time.time()) + 1
    settle(client)  # refusals are counted in memory and stored within a refresh
    row = usage_row(deployed, key_id)
    assert (row.requests, row.refused) == (3, 2)
    with deployed.session() as session:  # refused requests are not answered, so not stored
        assert session.scalar(select(func.count()).select_from(Prediction)) == 3


def test_a_rate_admits_a_burst_then_answers_429_until_a_token_refills(
    client: TestClient, issue: Issuer, deployed: Store
) -> None:
    key_id, key = issue(rate_per_second=0.01, burst=2)  # a token every 100 seconds
    answers = [client.post(CLASSIFY, json=TEXT, headers={"x-api-key": key}) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    error = answers[2].json()["error"]
    assert set(answers[2].json()) == {"error"} and set(error) == {"code", "message"}
    assert error["code"] == "rate_limited"
    assert "0.01 requests per second (bursts of 2)" in error["message"]
    refused = answers[2]
    assert 1 <= int(refused.headers["retry-after"]) <= 100
    assert "x-ratelimit-limit" not in refused.headers  # no monthly quota to report
    settle(client)
    row = usage_row(deployed, key_id)
    assert (row.requests, row.refused) == (2, 1)


def test_the_bucket_refills_at_the_rate_up_to_the_burst(store: Store, issue: Issuer) -> None:
    key_id, _ = issue(rate_per_second=2, burst=2)
    plan = Plan(rate_per_second=2, burst=2)
    start = datetime(2026, 11, 10, tzinfo=UTC).timestamp()
    admit(store, key_id, plan, start)
    admit(store, key_id, plan, start)
    with pytest.raises(RateLimited) as refused:
        admit(store, key_id, plan, start)
    assert refused.value.headers["Retry-After"] == "1"  # half a second, rounded up
    admit(store, key_id, plan, start + 0.5)  # one token back
    with pytest.raises(RateLimited):
        admit(store, key_id, plan, start + 0.5)
    admit(store, key_id, plan, start + 60)  # a minute later: full again, but only to the burst
    admit(store, key_id, plan, start + 60)
    with pytest.raises(RateLimited):
        admit(store, key_id, plan, start + 60)
    row = usage_row(store, key_id)
    assert (row.requests, row.refused) == (5, 3)


def test_a_new_month_renews_the_quota(store: Store, issue: Issuer) -> None:
    key_id, _ = issue(monthly_quota=1)
    plan = Plan(monthly_quota=1)
    last_second = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()
    admission = admit(store, key_id, plan, last_second)
    assert admission.headers() == {
        "X-RateLimit-Limit": "1",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int(datetime(2027, 1, 1, tzinfo=UTC).timestamp())),
    }
    with pytest.raises(QuotaExceeded) as refused:
        admit(store, key_id, plan, last_second + 0.2)
    assert refused.value.headers["Retry-After"] == "1"
    assert admit(store, key_id, plan, last_second + 1).requests == 1  # January's first
    with store.session() as session:
        months = session.execute(select(KeyUsage.period, KeyUsage.requests)).all()
    assert sorted(months) == [("2026-12", 1), ("2027-01", 1)]


def test_concurrent_admissions_never_exceed_the_quota(store: Store, issue: Issuer) -> None:
    key_id, _ = issue(monthly_quota=40)
    plan = Plan(monthly_quota=40)

    def attempt(_: int) -> bool:
        try:
            admit(store, key_id, plan)
            return True
        except QuotaExceeded:
            return False

    with ThreadPoolExecutor(8) as pool:
        admitted = list(pool.map(attempt, range(60)))
    assert admitted.count(True) == 40
    row = usage_row(store, key_id)
    assert (row.requests, row.refused) == (40, 20)


def test_the_burst_defaults_to_a_seconds_worth_of_the_rate() -> None:
    assert make_plan(None, 2.5, None) == Plan(None, 2.5, 3)
    assert make_plan(None, 0.2, None) == Plan(None, 0.2, 1)
    assert make_plan(1000, None, None) == Plan(1000, None, None)
    assert make_plan(None, None, None) is None


@pytest.mark.parametrize(
    ("quota", "rate", "burst", "field"),
    [
        (0, None, None, "quota"),
        (None, 0.0, None, "rate"),
        (None, -1.0, None, "rate"),
        (None, float("nan"), None, "rate"),
        (None, 1.0, 0, "burst"),
        (None, None, 5, "burst"),  # a burst means nothing without a rate
    ],
)
def test_a_plan_must_be_positive(
    quota: int | None, rate: float | None, burst: int | None, field: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        make_plan(quota, rate, burst)
    assert refused.value.field == field


def test_a_refused_request_writes_nothing_and_is_stored_with_the_next_flush(
    store: Store, issue: Issuer
) -> None:
    key_id, _ = issue(monthly_quota=1)
    plan, refusals = Plan(monthly_quota=1), Refusals()
    admit(store, key_id, plan, refusals=refusals)
    commits: list[object] = []
    committed = commits.append
    event.listen(store.engine, "commit", committed)
    try:
        for _ in range(3):
            with pytest.raises(QuotaExceeded):
                admit(store, key_id, plan, refusals=refusals)
    finally:
        event.remove(store.engine, "commit", committed)
    assert commits == []  # no durable commit per 429
    assert refusals.pending(key_id, period_of(time.time())) == 3

    refusals.flush(store)

    row = usage_row(store, key_id)
    assert (row.requests, row.refused) == (1, 3)
    assert refusals.pending(key_id, period_of(time.time())) == 0
