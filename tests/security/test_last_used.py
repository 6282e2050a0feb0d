"""When a key was last used is noted in memory and written by the background refresh, one
UPDATE for every key used since the previous refresh: requests themselves never write it."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select

from tests.security.conftest import CLASSIFY, TEXT, Issuer
from textloop.store import Store
from textloop.store.tables import ApiKey, KeyUsage

pytestmark = pytest.mark.storage


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the engine runs meanwhile, from any thread (the server's engine: the
    test's store has one of its own)."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()).lower())

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def writes_to_keys(seen: list[str]) -> list[str]:
    return [s for s in seen if s.startswith("update api_keys") or "key_usage" in s]


def test_requests_without_a_plan_write_nothing_and_a_refresh_records_their_use(
    client: TestClient, issue: Issuer, deployed: Store
) -> None:
    runtime = client.app.state.runtime
    runtime.refresher.close()  # refreshes happen only when this test says
    first_id, first = issue()
    second_id, second = issue()
    with statements(runtime.store.engine) as seen:
        for _ in range(10):
            for key in (first, second):
                answer = client.post(CLASSIFY, json=TEXT, headers={"x-api-key": key})
                assert answer.status_code == 200
                assert "x-ratelimit-limit" not in answer.headers
        assert writes_to_keys(seen) == []
        with deployed.session() as session:
            assert session.scalars(select(ApiKey.last_used_at)).all() == [None, None]

        runtime.keys.refresh()
        (write,) = writes_to_keys(seen)  # both keys in one statement
        assert write.startswith("update api_keys set last_used_at")
    with deployed.session() as session:
        used = dict(session.execute(select(ApiKey.id, ApiKey.last_used_at)).all())
        assert used[first_id] is not None and used[second_id] is not None
        assert session.scalars(select(KeyUsage)).all() == []


def test_a_refresh_with_no_use_since_the_last_writes_nothing(
    client: TestClient, issue: Issuer, deployed: Store
) -> None:
    runtime = client.app.state.runtime
    runtime.refresher.close()
    _, key = issue()
    assert client.post(CLASSIFY, json=TEXT, headers={"x-api-key": key}).status_code == 200
    runtime.keys.refresh()
    with statements(runtime.store.engine) as seen:
        runtime.keys.refresh()
    assert writes_to_keys(seen) == []


def test_use_is_recorded_even_after_the_remembered_keys_are_forgotten(
    client: TestClient, issue: Issuer, deployed: Store
) -> None:
    runtime = client.app.state.runtime
    runtime.refresher.close()
    key_id, key = issue()
    assert client.post(CLASSIFY, json=TEXT, headers={"x-api-key": key}).status_code == 200
    runtime.keys.forget()  # as after any admin change made through this server
    runtime.keys.refresh()
    with deployed.session() as session:
        assert session.get(ApiKey, key_id).last_used_at is not None  # type: ignore[union-attr]
