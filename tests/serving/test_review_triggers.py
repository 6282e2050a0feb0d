"""The server connects the retrain triggers to review decisions as it is built: a decision made
over its API queues a retrain even in a process where nothing connected them before."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from textloop.config import Settings
from textloop.continuous.triggers import RETRAIN, after_review, configure
from textloop.security.api_keys import create_api_key
from textloop.serving.app import create_app
from textloop.signals import REVIEW_DECIDED
from textloop.store import Store
from textloop.store.tables import Job


@pytest.fixture
def nothing_connected() -> Iterator[None]:
    """A process whose imports connected no receiver to ``review.decided``."""
    found = REVIEW_DECIDED.connected(after_review)
    REVIEW_DECIDED.disconnect(after_review)
    try:
        yield
    finally:
        if found:  # as the test found it
            REVIEW_DECIDED.connect(after_review)
        else:
            REVIEW_DECIDED.disconnect(after_review)


def test_a_decision_over_the_api_queues_a_retrain_whatever_was_imported_before(
    nothing_connected: None, people: Store, settings: Settings
) -> None:
    with people.session() as session:
        configure(session, "topics", retrain_after=1)
        rita = {"x-api-key": create_api_key(session, ["review"], None, "", "rita@example.com").key}
    with TestClient(create_app(settings)) as client:
        task = client.post("/v1/classifiers/topics/review/claim", headers=rita).json()
        decided = client.post(
            f"/v1/review/tasks/{task['id']}/decision", json={"label": "sport"}, headers=rita
        )
        assert decided.status_code == 200, decided.text
    with people.session() as session:
        jobs = session.scalars(select(Job)).all()
    assert [(job.kind, job.payload["trigger"]) for job in jobs] == [(RETRAIN, "labels")]
