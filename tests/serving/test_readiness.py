"""Readiness: what the server tells a load balancer before the database is asked again."""

from fastapi.testclient import TestClient

from textloop.serving.readiness import Readiness
from textloop.store import Store
from textloop.store.database import head_revision


def test_ready_once_the_models_are_loaded_and_the_database_answers(store: Store) -> None:
    readiness = Readiness(store, head_revision())
    assert readiness.verdict().reason == "the production models are still loading"
    readiness.models_loaded()
    assert readiness.verdict().reason == "not checked yet"
    readiness.check()
    assert readiness.verdict().ready


def test_a_schema_of_another_release_is_not_ready_and_says_which(store: Store) -> None:
    readiness = Readiness(store, "9999")
    readiness.models_loaded()
    readiness.check()
    verdict = readiness.verdict()
    assert not verdict.ready
    assert verdict.reason == f"the database schema is at {head_revision()}; this server needs 9999"


def test_a_check_older_than_the_limit_is_not_trusted(store: Store) -> None:
    readiness = Readiness(store, head_revision(), stale=0.0)
    readiness.models_loaded()
    readiness.check()
    assert readiness.verdict().reason == "the database has not answered for over 0 s"


def test_a_running_app_is_ready_without_a_key_and_shows_its_storage_lag(
    client: TestClient,
) -> None:
    answer = client.get("/readyz")
    lag = {"queued": 0, "limit": 20_000, "oldest_seconds": 0.0}
    assert (answer.status_code, answer.json()) == (200, {"status": "ready", "predictions": lag})
