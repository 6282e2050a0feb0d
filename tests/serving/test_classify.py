"""Classify answers label, confidence and scores; stores every prediction; flags unsure ones."""

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from tests.serving.conftest import Keys, settle
from textloop.store import Store
from textloop.store.tables import Classifier, Prediction, ReviewTask

URL = "/v1/classifiers/topics/classify"


def count(store: Store, table: type) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def test_single_text_gets_a_label_with_confidence_and_all_scores(
    client: TestClient, keys: Keys, deployed: Store
) -> None:
    response = client.post(
        URL, json={"text": "the striker scored a goal"}, headers=keys.header(keys.classify)
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "label",
        "confidence",
        "scores",
        "model_version",
        "prediction_id",
        "review",
    }
    assert body["label"] == "sport"
    assert set(body["scores"]) == {"finance", "sport", "weather"}
    assert abs(sum(body["scores"].values()) - 1) < 1e-9  # full precision, nothing rounded
    assert body["confidence"] == max(body["scores"].values())
    assert body["model_version"] == 1
    settle(client)  # stored right after the answer
    with deployed.session() as session:
        stored = session.get(Prediction, body["prediction_id"])
        assert stored is not None and stored.label == "sport"


def test_a_batch_answers_one_prediction_per_text_in_order(client: TestClient, keys: Keys) -> None:
    texts = ["storm and rain tomorrow", "the bank raised interest", "the coach and the league"]
    response = client.post(URL, json={"texts": texts}, headers=keys.header(keys.classify))
    assert response.status_code == 200
    assert [p["label"] for p in response.json()["predictions"]] == ["weather", "finance", "sport"]


def test_predictions_below_the_threshold_become_implicit_review_tasks(
    client: TestClient, keys: Keys, deployed: Store
) -> None:
    with deployed.session() as session:
        session.execute(update(Classifier).values(threshold=1.01))
    settle(client)
    response = client.post(
        URL, json={"text": "a sunny forecast"}, headers=keys.header(keys.classify)
    )
    body = response.json()
    assert body["review"] is True
    settle(client)
    with deployed.session() as session:
        task = session.scalar(select(ReviewTask))
        assert task is not None
        assert (task.source, task.status, task.prediction_id) == (
            "implicit",
            "open",
            body["prediction_id"],
        )
        assert (task.suggested_label, task.confidence) == (body["label"], body["confidence"])


def test_confident_predictions_open_no_task(
    client: TestClient, keys: Keys, deployed: Store
) -> None:
    with deployed.session() as session:
        session.execute(update(Classifier).values(threshold=0.0))
    settle(client)
    body = client.post(URL, json={"text": "rain"}, headers=keys.header(keys.classify)).json()
    assert body["review"] is False
    settle(client)
    assert count(deployed, ReviewTask) == 0


def test_bearer_token_works_like_the_header(client: TestClient, keys: Keys) -> None:
    response = client.post(
        URL, json={"text": "goal"}, headers={"Authorization": f"Bearer {keys.classify}"}
    )
    assert response.status_code == 200


def test_top_k_keeps_the_highest_scores_while_the_stored_prediction_keeps_all(
    client: TestClient, keys: Keys, deployed: Store
) -> None:
    response = client.post(
        URL,
        json={"text": "the striker scored a goal", "top_k": 2},
        headers=keys.header(keys.classify),
    )
    assert response.status_code == 200
    body = response.json()
    scores = list(body["scores"].items())
    assert len(scores) == 2 and scores[0][0] == body["label"] and scores[0][1] >= scores[1][1]
    settle(client)
    with deployed.session() as session:
        stored = session.get(Prediction, body["prediction_id"])
        assert stored is not None and len(stored.scores) == 3
        assert stored.confidence == body["confidence"]
        assert stored.scores[body["label"]] == body["scores"][body["label"]]
    refused = client.post(URL, json={"text": "x", "top_k": 0}, headers=keys.header(keys.classify))
    assert refused.status_code == 422


def test_the_common_request_and_the_documented_route_answer_alike(
    client: TestClient, keys: Keys
) -> None:
    """A plain request takes the lean path; one naming its alias goes through the documented
    route: both answer the same, and refuse the same keys the same way."""
    body = {"text": "the striker scored a goal", "top_k": 2}
    lean = client.post(URL, json=body, headers=keys.header(keys.classify)).json()
    documented = client.post(
        f"{URL}?alias=production", json=body, headers=keys.header(keys.classify)
    ).json()
    assert lean.keys() == documented.keys()
    assert (lean["label"], lean["scores"]) == (documented["label"], documented["scores"])
    assert lean["prediction_id"] != documented["prediction_id"]
    for key in (keys.other_classifier, keys.feedback):
        refusals = [
            client.post(url, json=body, headers=keys.header(key))
            for url in (URL, f"{URL}?alias=production")
        ]
        assert [r.status_code for r in refusals] == [403, 403]
        assert refusals[0].json() == refusals[1].json()
