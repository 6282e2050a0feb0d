"""What the API acknowledged is committed: another connection reads it right after the answer."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.serving.conftest import Keys
from tests.serving.test_review_api import reviewer_key
from textloop.config import Settings
from textloop.store import Store, open_store
from textloop.store.tables import Feedback, ReviewDecision, ReviewTask

pytestmark = pytest.mark.storage


@pytest.fixture
def elsewhere(settings: Settings) -> Iterator[Store]:
    """A store of its own (its own engine and connections), as another process would have."""
    store = open_store(settings, migrate=False)
    yield store
    store.dispose()


def test_feedback_and_its_task_are_committed_before_the_answer(
    client: TestClient, keys: Keys, elsewhere: Store
) -> None:
    response = client.post(
        "/v1/classifiers/topics/feedback",
        json={"text": "snow and wind all day", "label": "weather"},
        headers=keys.header(keys.feedback),
    )
    assert response.status_code == 201, response.text
    with elsewhere.session() as session:
        feedback = session.get(Feedback, response.json()["feedback_id"])
        task = session.get(ReviewTask, response.json()["review_task_id"])
        assert feedback is not None and feedback.label == "weather"
        assert task is not None and task.source == "explicit"


def test_a_review_decision_is_committed_before_the_answer(
    client: TestClient, people: Store, elsewhere: Store
) -> None:
    rita = reviewer_key(people, "rita@example.com")
    task = client.post("/v1/classifiers/topics/review/claim", headers=rita).json()
    decided = client.post(
        f"/v1/review/tasks/{task['id']}/decision", json={"label": "sport"}, headers=rita
    )
    assert decided.status_code == 200, decided.text
    with elsewhere.session() as session:
        labels = session.scalars(
            select(ReviewDecision.label).where(ReviewDecision.task_id == task["id"])
        )
        assert list(labels) == ["sport"]
        stored = session.get(ReviewTask, task["id"])
        assert stored is not None and stored.status == decided.json()["status"]
