"""Review decisions over HTTP, as a file an admin can download; or the tasks, for Label Studio."""

import io

import pyarrow.csv as pacsv
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.serving.conftest import Keys
from tests.serving.test_rejections import assert_error
from textloop.review.assignments import claim_next, decide
from textloop.store import Store
from textloop.store.tables import User


def test_admins_download_every_decision(client: TestClient, keys: Keys, people: Store) -> None:
    with people.session() as session:
        rita = session.scalar(select(User.id).where(User.email == "rita@example.com"))
        task = claim_next(session, "topics", rita)
        decide(session, task.id, rita, "finance")
    response = client.get(
        "/v1/classifiers/topics/review/export?format=csv", headers=keys.header(keys.admin)
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="topics-review.csv"' in response.headers["content-disposition"]
    rows = pacsv.read_csv(io.BytesIO(response.content)).to_pylist()
    assert [(r["decision"], r["reviewer"], r["source"]) for r in rows] == [
        ("finance", "rita@example.com", "implicit")
    ]


def test_the_export_needs_an_admin_key_and_a_known_format(
    client: TestClient, keys: Keys, people: Store
) -> None:
    path = "/v1/classifiers/topics/review/export"
    assert client.get(path, headers=keys.header(keys.review)).status_code == 403
    wrong = client.get(f"{path}?format=xlsx", headers=keys.header(keys.admin))
    assert_error(wrong, 422, "invalid_request", "format must be one of csv, jsonl, parquet")


def test_admins_download_the_tasks_for_label_studio(
    client: TestClient, keys: Keys, people: Store
) -> None:
    with people.session() as session:
        rita = session.scalar(select(User.id).where(User.email == "rita@example.com"))
        decide(session, claim_next(session, "topics", rita).id, rita, "finance")
    response = client.get(
        "/v1/classifiers/topics/review/export?format=label-studio&from_name=topic",
        headers=keys.header(keys.admin),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert 'filename="topics-review.json"' in response.headers["content-disposition"]
    tasks = response.json()
    assert len(tasks) == 3 and {task["data"]["text"][:11] for task in tasks} == {"the striker"}
    first = tasks[0]
    assert first["predictions"][0]["result"][0]["from_name"] == "topic"
    assert first["predictions"][0]["result"][0]["value"] == {"choices": ["sport"]}
    assert first["annotations"][0]["result"][0]["value"] == {"choices": ["finance"]}
