"""The pool over HTTP: admins add texts and turn the most useful into review tasks."""

from fastapi.testclient import TestClient

from tests.serving.conftest import Keys
from tests.serving.test_rejections import assert_error

TEXTS = ["the coach and the bank", "rain over the market", "a goal in the storm", "profit"]


def test_admins_fill_the_pool_and_sample_it_into_review_tasks(
    client: TestClient, keys: Keys
) -> None:
    admin = keys.header(keys.admin)
    added = client.post(
        "/v1/classifiers/topics/pool", json={"texts": [*TEXTS, TEXTS[0]]}, headers=admin
    )
    assert added.status_code == 201
    assert added.json() == {
        "added": 4,
        "duplicates": 1,
        "size": 4,
        "repeated": 1,
        "pooled": 0,
        "labelled": 0,
    }
    sampled = client.post(
        "/v1/classifiers/topics/pool/samples", json={"n": 2, "strategy": "margin"}, headers=admin
    )
    assert sampled.status_code == 201, sampled.text
    tasks = sampled.json()["tasks"]
    assert len(tasks) == 2 and {t["source"] for t in tasks} == {"pool"}
    queue = client.get("/v1/classifiers/topics/review/tasks", headers=admin).json()["tasks"]
    assert {t["id"] for t in tasks} <= {t["id"] for t in queue}


def test_the_pool_refuses_other_keys_unknown_strategies_and_empty_texts(
    client: TestClient, keys: Keys
) -> None:
    refused = client.post(
        "/v1/classifiers/topics/pool", json={"texts": ["x"]}, headers=keys.header(keys.classify)
    )
    assert refused.status_code == 403
    admin = keys.header(keys.admin)
    unknown = client.post(
        "/v1/classifiers/topics/pool/samples", json={"strategy": "smart"}, headers=admin
    )
    assert_error(unknown, 404, "not_found", "unknown query strategy 'smart'")
    blank = client.post("/v1/classifiers/topics/pool", json={"texts": ["  "]}, headers=admin)
    assert blank.status_code == 422
