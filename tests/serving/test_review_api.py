"""Reviewing over HTTP with a reviewer's own key: claim the next task, decide it, as that person."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from textloop.errors import InvalidRequest
from textloop.security.api_keys import create_api_key
from textloop.store import Store
from textloop.store.tables import ReviewDecision, ReviewTask, User


def reviewer_key(store: Store, email: str, classifiers: list[str] | None = None) -> dict[str, str]:
    with store.session() as session:
        return {"x-api-key": create_api_key(session, ["review"], classifiers, "", email).key}


def test_a_reviewer_claims_and_decides_tasks_and_the_decisions_are_theirs(
    client: TestClient, people: Store
) -> None:
    rita = reviewer_key(people, "rita@example.com")
    claimed = client.post("/v1/classifiers/topics/review/claim", headers=rita)
    assert claimed.status_code == 200, claimed.text
    again = client.post("/v1/classifiers/topics/review/claim", headers=rita)
    assert again.json()["id"] == claimed.json()["id"]  # the task she holds, not a second one

    decided = client.post(
        f"/v1/review/tasks/{claimed.json()['id']}/decision", json={"label": "sport"}, headers=rita
    )
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["final_label"]) == ("done", "sport")
    with people.session() as session:
        decision = session.scalars(select(ReviewDecision)).one()
        assert session.get(User, decision.user_id).email == "rita@example.com"

    for _ in range(2):
        task = client.post("/v1/classifiers/topics/review/claim", headers=rita).json()
        client.post(f"/v1/review/tasks/{task['id']}/decision", json={"label": "skip"}, headers=rita)
    assert client.post("/v1/classifiers/topics/review/claim", headers=rita).status_code == 204


def test_decisions_need_a_held_task_a_known_label_and_a_person(
    client: TestClient, people: Store, keys
) -> None:
    rita = reviewer_key(people, "rita@example.com")
    task = client.post("/v1/classifiers/topics/review/claim", headers=rita).json()
    url = f"/v1/review/tasks/{task['id']}/decision"

    unknown = client.post(url, json={"label": "cooking"}, headers=rita)
    assert unknown.status_code == 422 and "'cooking' is not a label" in unknown.text
    anonymous = client.post(url, json={"label": "sport"}, headers=keys.header(keys.review))
    assert anonymous.status_code == 403 and "reviewer's own key" in anonymous.text
    claim = client.post("/v1/classifiers/topics/review/claim", headers=keys.header(keys.review))
    assert claim.status_code == 403

    ann = reviewer_key(people, "admin@example.com")
    not_hers = client.post(url, json={"label": "sport"}, headers=ann)
    assert not_hers.status_code == 422 and "no longer yours" in not_hers.text
    missing = client.post("/v1/review/tasks/nope/decision", json={"label": "sport"}, headers=rita)
    assert missing.status_code == 404
    with people.session() as session:
        assert session.scalars(select(ReviewDecision)).all() == []
        assert {t.status for t in session.scalars(select(ReviewTask))} == {"open"}


def test_a_reviewers_key_follows_their_assignment(client: TestClient, people: Store) -> None:
    otto = reviewer_key(people, "otto@example.com")  # assigned to "other" only
    refused = client.post("/v1/classifiers/topics/review/claim", headers=otto)
    assert refused.status_code == 403 and "may not use classifier 'topics'" in refused.text
    with people.session() as session:
        with pytest.raises(InvalidRequest, match="not assigned to topics"):
            create_api_key(session, ["review"], ["topics"], "", "otto@example.com")
        with pytest.raises(InvalidRequest, match="their key cannot be admin"):
            create_api_key(session, ["admin"], None, "", "rita@example.com")
        with pytest.raises(InvalidRequest, match="no active portal account"):
            create_api_key(session, ["review"], None, "", "nobody@example.com")

    rita = reviewer_key(people, "rita@example.com")
    with people.session() as session:
        session.scalar(select(User).where(User.email == "rita@example.com")).disabled = True
        session.commit()
    gone = client.post("/v1/classifiers/topics/review/claim", headers=rita)
    assert gone.status_code == 401 and "disabled" in gone.text


def test_the_queue_lists_every_status_when_asked_for_all(client: TestClient, people: Store) -> None:
    rita = reviewer_key(people, "rita@example.com")
    task = client.post("/v1/classifiers/topics/review/claim", headers=rita).json()
    client.post(f"/v1/review/tasks/{task['id']}/decision", json={"label": "sport"}, headers=rita)

    def listed(status: str) -> set[str]:
        path = f"/v1/classifiers/topics/review/tasks?status={status}"
        return {t["id"] for t in client.get(path, headers=rita).json()["tasks"]}

    assert task["id"] in listed("done") and task["id"] not in listed("open")
    assert listed("all") == listed("open") | listed("done") and len(listed("all")) == 3


def test_none_of_these_is_a_decision_over_http_and_one_decision_at_a_time(
    client: TestClient, people: Store
) -> None:
    rita = reviewer_key(people, "rita@example.com")
    task = client.post("/v1/classifiers/topics/review/claim", headers=rita).json()
    url = f"/v1/review/tasks/{task['id']}/decision"
    for both in ({"label": "sport", "none_of_these": True}, {"skip": True, "none_of_these": True}):
        refused = client.post(url, json=both, headers=rita)
        assert refused.status_code == 422 and "give one of" in refused.text
    decided = client.post(url, json={"none_of_these": True}, headers=rita)
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["final_label"]) == ("done", None)
    with people.session() as session:
        assert session.scalars(select(ReviewDecision.label)).all() == [None]
