"""Bad requests get a 4xx naming the problem, in one error shape, and write nothing."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.serving.conftest import Keys
from textloop.store import Store
from textloop.store.tables import Feedback, Prediction, ReviewTask

URL = "/v1/classifiers/topics/classify"


def rows_written(store: Store) -> int:
    with store.session() as session:
        return sum(
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Prediction, Feedback, ReviewTask)
        )


def assert_error(response, status: int, code: str, *fragments: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    for fragment in fragments:
        assert fragment in body["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"text": ""}, "text", "at least 1 character"),
        ({"text": "   "}, "text", "must not be empty"),
        ({"text": "x" * 10_001}, "text", "at most 10000 characters"),
        ({"texts": ["ok"] * 257}, "texts", "at most 256 items"),
        ({"texts": []}, "texts", "at least 1 item"),
        ({"texts": ["ok", ""]}, "texts.1", "at least 1 character"),
        ({"text": "a", "texts": ["b"]}, None, "exactly one of 'text' or 'texts'"),
        ({}, None, "exactly one of 'text' or 'texts'"),
        ({"text": "a", "colour": "red"}, "colour", "Extra inputs"),
    ],
)
def test_invalid_classify_bodies_are_422_naming_the_field(
    client: TestClient, keys: Keys, deployed: Store, body: dict, field: str | None, fragment: str
) -> None:
    response = client.post(URL, json=body, headers=keys.header(keys.classify))
    assert_error(response, 422, "validation_error", fragment)
    assert response.json()["error"].get("field") == field
    assert rows_written(deployed) == 0


def test_malformed_json_is_400(client: TestClient, keys: Keys, deployed: Store) -> None:
    response = client.post(
        URL,
        content=b'{"text": ',
        headers={**keys.header(keys.classify), "content-type": "application/json"},
    )
    assert_error(response, 400, "malformed_json")
    assert rows_written(deployed) == 0


def test_malformed_json_names_where_the_body_went_wrong(
    client: TestClient, keys: Keys, deployed: Store
) -> None:
    response = client.post(
        URL,
        content=b'{"text": "caf\xc3\xa9",\n  "top": }',
        headers={**keys.header(keys.classify), "content-type": "application/json"},
    )
    assert_error(response, 400, "malformed_json", "Expecting value at line 2, column 10")


def test_unknown_classifier_is_404(client: TestClient, keys: Keys) -> None:
    response = client.post(
        "/v1/classifiers/nope/classify", json={"text": "a"}, headers=keys.header(keys.admin)
    )
    assert_error(response, 404, "not_found", "classifier 'nope' does not exist")


@pytest.mark.parametrize(
    "headers", [{}, {"x-api-key": "tl_wrong"}, {"Authorization": "Bearer nope"}]
)
def test_missing_or_invalid_key_is_401(client: TestClient, deployed: Store, headers: dict) -> None:
    response = client.post(URL, json={"text": "a"}, headers=headers)
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert rows_written(deployed) == 0


def test_a_key_without_the_scope_is_403(client: TestClient, keys: Keys) -> None:
    response = client.post(URL, json={"text": "a"}, headers=keys.header(keys.review))
    assert_error(response, 403, "forbidden", "'classify' scope")


def test_a_key_for_another_classifier_is_403(client: TestClient, keys: Keys) -> None:
    response = client.post(URL, json={"text": "a"}, headers=keys.header(keys.other_classifier))
    assert_error(response, 403, "forbidden", "classifier 'topics'")


def test_unknown_route_uses_the_same_error_shape(client: TestClient) -> None:
    assert_error(client.get("/v1/nothing-here"), 404, "not_found")


def test_health_needs_no_key(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
