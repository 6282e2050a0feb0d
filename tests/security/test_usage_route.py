"""``GET /v1/usage``: any valid key sees its own plan and this month's counts, without spending
its plan on it; an admin sees any key's (``?key_id=``) or every key's (``/v1/usage/keys``)."""

import time

from fastapi.testclient import TestClient

from tests.security.conftest import CLASSIFY, TEXT, Issuer
from tests.serving.conftest import Keys
from textloop.security.usage import next_period_start, period_of


def test_a_key_sees_its_own_usage_even_over_its_quota(client: TestClient, issue: Issuer) -> None:
    key_id, key = issue(monthly_quota=2, rate_per_second=100)
    statuses = [
        client.post(CLASSIFY, json=TEXT, headers={"x-api-key": key}).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 429]

    for _ in range(2):  # reading it counts against nothing
        usage = client.get("/v1/usage", headers={"x-api-key": key})
        assert usage.status_code == 200
        assert "x-ratelimit-remaining" not in usage.headers
    body = usage.json()
    assert body == {
        "key_id": key_id,
        "prefix": key[:10],
        "name": "",
        "plan": {"monthly_quota": 2, "rate_per_second": 100.0, "burst": 100},
        "period": period_of(time.time()),
        "requests": 2,
        "refused": 1,
        "remaining": 0,
        "resets_at": body["resets_at"],
    }
    assert body["resets_at"].startswith(next_period_start(time.time()).strftime("%Y-%m-%dT00:00"))


def test_a_key_without_a_plan_is_unlimited(client: TestClient, keys: Keys) -> None:
    client.post(CLASSIFY, json=TEXT, headers=keys.header(keys.classify))
    body = client.get("/v1/usage", headers=keys.header(keys.classify)).json()
    assert (body["plan"], body["requests"], body["remaining"]) == (None, 0, None)


def test_only_an_admin_reads_other_keys_usage(
    client: TestClient, keys: Keys, issue: Issuer
) -> None:
    key_id, key = issue(monthly_quota=10)
    client.post(CLASSIFY, json=TEXT, headers={"x-api-key": key})

    other = client.get(f"/v1/usage?key_id={key_id}", headers=keys.header(keys.admin))
    assert other.status_code == 200 and other.json()["requests"] == 1
    own = client.get(f"/v1/usage?key_id={key_id}", headers={"x-api-key": key})
    assert own.status_code == 200
    refused = client.get(f"/v1/usage?key_id={key_id}", headers=keys.header(keys.classify))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    missing = client.get("/v1/usage?key_id=999999", headers=keys.header(keys.admin))
    assert missing.status_code == 404

    every = client.get("/v1/usage/keys", headers=keys.header(keys.admin))
    assert every.status_code == 200
    assert every.json()["period"] == period_of(time.time())
    by_id = {row["key_id"]: row for row in every.json()["keys"]}
    assert len(by_id) == 6 and by_id[key_id]["remaining"] == 9  # the five of ``keys`` too
    assert client.get("/v1/usage/keys", headers={"x-api-key": key}).status_code == 403


def test_usage_needs_a_valid_key(client: TestClient) -> None:
    assert client.get("/v1/usage").status_code == 401
    assert client.get("/v1/usage", headers={"x-api-key": "tl_nope"}).status_code == 401
