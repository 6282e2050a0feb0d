"""A key with an expiry works until that moment and is refused (401, saying when) from it on,
in every process and even while it is remembered."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.security.conftest import CLASSIFY, TEXT, Issuer
from textloop.errors import AuthError, InvalidRequest
from textloop.security.api_keys import create_api_key, hash_key, valid_keys
from textloop.serving.key_cache import KeyCache
from textloop.store import Store
from textloop.store.tables import ApiKey, as_utc

pytestmark = pytest.mark.storage


def test_an_expiry_must_lie_ahead(store: Store) -> None:
    with store.session() as session, pytest.raises(InvalidRequest, match="future") as refused:
        create_api_key(session, ["classify"], expires_at=datetime.now(UTC) - timedelta(1))
    assert refused.value.field == "expires_at"


def test_a_naive_expiry_is_taken_as_utc(store: Store) -> None:
    ahead = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)
    with store.session() as session:
        issued = create_api_key(session, ["classify"], expires_at=ahead)
    assert issued.expires_at == ahead.replace(tzinfo=UTC)


def test_an_expiry_with_a_utc_offset_is_kept_as_the_same_moment(store: Store) -> None:
    ahead = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    eastern = ahead.astimezone(timezone(timedelta(hours=-5)))
    with store.session() as session:
        issued = create_api_key(session, ["classify"], expires_at=eastern)
    with store.session() as session:
        stored = session.get(ApiKey, issued.id)
        assert stored is not None and as_utc(stored.expires_at) == ahead


def test_an_expired_key_is_refused_with_401_saying_when(
    client: TestClient, issue: Issuer, deployed: Store
) -> None:
    key_id, key = issue(expires_at=datetime.now(UTC) + timedelta(days=1))
    assert client.post(CLASSIFY, json=TEXT, headers={"x-api-key": key}).status_code == 200
    with deployed.session() as session:  # a day passes
        session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id)
            .values(expires_at=datetime(2020, 5, 17, 8, 30, tzinfo=UTC))
        )
    client.app.state.runtime.keys.forget()  # as the background refresh would within a second

    refused = client.post(CLASSIFY, json=TEXT, headers={"x-api-key": key})
    assert refused.status_code == 401
    assert refused.json()["error"] == {
        "code": "unauthorized",
        "message": "this API key expired at 2020-05-17 08:30:00 UTC",
    }
    assert refused.headers["www-authenticate"] == "Bearer"


def test_a_remembered_key_stops_working_at_its_expiry(client: TestClient, issue: Issuer) -> None:
    expiry = datetime.now(UTC) + timedelta(hours=1)
    _, key = issue(expires_at=expiry)
    cache = client.app.state.runtime.keys
    assert client.post(CLASSIFY, json=TEXT, headers={"x-api-key": key}).status_code == 200
    assert cache.cached(key) is not None  # remembered: the next request asks no database

    cache.clock = lambda: expiry - timedelta(microseconds=1)
    assert client.post(CLASSIFY, json=TEXT, headers={"x-api-key": key}).status_code == 200
    cache.clock = lambda: expiry
    refused = client.post(CLASSIFY, json=TEXT, headers={"x-api-key": key})
    assert refused.status_code == 401 and "expired" in refused.json()["error"]["message"]


def test_the_cache_checks_the_expiry_without_waiting_for_a_refresh(
    store: Store, issue: Issuer
) -> None:
    expiry = datetime.now(UTC) + timedelta(hours=1)
    _, key = issue(expires_at=expiry)
    cache = KeyCache(store, max_age=3600)  # no refresh would come for an hour
    principal = cache.authenticate(key)
    assert principal.expires_at == expiry
    cache.clock = lambda: expiry
    assert cache.cached(key) is None
    with pytest.raises(AuthError, match="expired"):
        cache.authenticate(key)


def test_valid_keys_leaves_out_expired_keys(store: Store, issue: Issuer) -> None:
    expiry = datetime.now(UTC) + timedelta(hours=1)
    _, expiring = issue(expires_at=expiry)
    _, lasting = issue()
    hashes = [hash_key(expiring), hash_key(lasting)]
    with store.session() as session:
        assert set(valid_keys(session, hashes)) == set(hashes)
        assert set(valid_keys(session, hashes, expiry)) == {hash_key(lasting)}
