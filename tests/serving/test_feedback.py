"""Explicit feedback is stored and opens an ``explicit`` review task, listed in the queue."""

from fastapi.testclient import TestClient

from tests.serving.conftest import Keys
from tests.serving.test_rejections import assert_error


def classify(client: TestClient, keys: Keys, text: str) -> dict:
    return client.post(
        "/v1/classifiers/topics/classify", json={"text": text}, headers=keys.header(keys.classify)
    ).json()


def open_tasks(client: TestClient, keys: Keys) -> list[dict]:
    response = client.get(
        "/v1/classifiers/topics/review/tasks?status=open", headers=keys.header(keys.review)
    )
    assert response.status_code == 200
    return response.json()["tasks"]


def test_feedback_on_a_prediction_opens_an_explicit_task(client: TestClient, keys: Keys) -> None:
    prediction = classify(client, keys, "the market and the loan")
    response = client.post(
        "/v1/classifiers/topics/feedback",
        json={"prediction_id": prediction["prediction_id"], "label": "weather"},
        headers=keys.header(keys.feedback),
    )
    assert response.status_code == 201
    feedback_id = response.json()["feedback_id"]
    explicit = [task for task in open_tasks(client, keys) if task["source"] == "explicit"]
    assert len(explicit) == 1
    task = explicit[0]
    assert task["feedback_id"] == feedback_id
    assert task["text"] == "the market and the loan"
    assert (task["suggested_label"], task["reported_label"]) == (prediction["label"], "weather")
    assert task["confidence"] == prediction["confidence"]


def test_feedback_on_a_text_gets_the_models_suggestion(client: TestClient, keys: Keys) -> None:
    response = client.post(
        "/v1/classifiers/topics/feedback",
        json={"text": "snow and wind all day", "label": "weather"},
        headers=keys.header(keys.feedback),
    )
    assert response.status_code == 201
    (task,) = [t for t in open_tasks(client, keys) if t["source"] == "explicit"]
    assert task["text"] == "snow and wind all day"
    assert task["suggested_label"] == "weather"
    assert task["prediction_id"] is None


def test_the_label_is_optional(client: TestClient, keys: Keys) -> None:
    prediction = classify(client, keys, "a storm")
    response = client.post(
        "/v1/classifiers/topics/feedback",
        json={"prediction_id": prediction["prediction_id"]},
        headers=keys.header(keys.feedback),
    )
    assert response.status_code == 201


def test_unknown_prediction_is_404_and_unknown_label_is_422(client: TestClient, keys: Keys) -> None:
    assert_error(
        client.post(
            "/v1/classifiers/topics/feedback",
            json={"prediction_id": "0" * 32, "label": "sport"},
            headers=keys.header(keys.feedback),
        ),
        404,
        "not_found",
    )
    response = client.post(
        "/v1/classifiers/topics/feedback",
        json={"text": "hello", "label": "cooking"},
        headers=keys.header(keys.feedback),
    )
    assert_error(response, 422, "invalid_request", "'cooking' is not a label")
    assert open_tasks(client, keys) == []


def test_review_queue_rejects_an_unknown_status(client: TestClient, keys: Keys) -> None:
    response = client.get(
        "/v1/classifiers/topics/review/tasks?status=pending", headers=keys.header(keys.review)
    )
    assert_error(
        response, 422, "invalid_request", "status must be one of open, done, conflict or all"
    )


def test_lineage_routes_trace_a_served_prediction(client: TestClient, keys: Keys) -> None:
    prediction = classify(client, keys, "the coach and the referee")
    path = f"/v1/lineage/predictions/{prediction['prediction_id']}"
    assert client.get(path, headers=keys.header(keys.classify)).status_code == 403
    graph = client.get(path, headers=keys.header(keys.admin)).json()
    assert graph["model"]["version"] == 1
    assert graph["upstream"][0]["component"] == "push"
    assert graph["run"]["pipeline"] == "train"
    assert [d["uri"] for d in graph["datasets"]] == ["textloop://topics/datasets/1"]
    dataset = client.get(
        "/v1/lineage/classifiers/topics/datasets/1", headers=keys.header(keys.admin)
    ).json()
    assert [m["uri"] for m in dataset["models"]] == ["textloop://topics/models/1"]
    assert dataset["downstream"], "the steps that consumed the dataset are listed"
