"""While the database is slow to store predictions, only what reads them waits, and the lag is
bounded and visible: a full queue refuses classify with 503, and ``/readyz`` shows the lag."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.serving.conftest import Keys, deploy_corpus, settle
from tests.serving.held import HeldWrites
from textloop.config import Settings
from textloop.serving.app import create_app
from textloop.store import Store
from textloop.store.tables import Prediction

ANSWERED = 20.0  # seconds a request held up by nothing has to answer: far above any machine


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        yield pool


def classify(client: TestClient, keys: Keys, text: str) -> httpx.Response:
    return client.post(
        "/v1/classifiers/topics/classify", json={"text": text}, headers=keys.header(keys.classify)
    )


def report(client: TestClient, keys: Keys, prediction_id: str) -> Callable[[], httpx.Response]:
    body = {"prediction_id": prediction_id, "label": "weather"}
    headers = keys.header(keys.feedback)
    return lambda: client.post("/v1/classifiers/topics/feedback", json=body, headers=headers)


def stored(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(Prediction)) or 0


def test_while_storage_is_held_only_requests_for_the_held_predictions_wait(
    client: TestClient, keys: Keys, deployed: Store, pool: ThreadPoolExecutor
) -> None:
    log = client.app.state.runtime.predictions
    held = HeldWrites(log)
    earlier = classify(client, keys, "the striker scored a goal").json()["prediction_id"]
    settle(client)
    held.hold()
    later = classify(client, keys, "snow and rain all week").json()["prediction_id"]
    admin = keys.header(keys.admin)
    answers: dict[str, Future[httpx.Response]] = {
        "health": pool.submit(client.get, "/healthz"),
        "readiness": pool.submit(client.get, "/readyz"),
        "feedback on the earlier prediction": pool.submit(report(client, keys, earlier)),
        "its lineage": pool.submit(client.get, f"/v1/lineage/predictions/{earlier}", headers=admin),
        "the classifiers": pool.submit(client.get, "/v1/classifiers", headers=admin),
        "metrics": pool.submit(client.get, "/metrics", headers=admin),
    }
    for what, answer in answers.items():
        assert answer.result(timeout=ANSWERED).status_code < 300, what
    assert log.queued() == 1  # all of them answered while the later prediction was unstored
    assert client.get("/readyz").json()["predictions"]["queued"] == 1

    on_later = pool.submit(report(client, keys, later))
    lineage = pool.submit(client.get, f"/v1/lineage/predictions/{later}", headers=admin)
    time.sleep(0.3)  # let them arrive while the writer is held: they must wait, not miss it
    held.release()
    assert on_later.result(timeout=ANSWERED).status_code == 201  # read-your-writes holds
    assert lineage.result(timeout=ANSWERED).json()["prediction"]["id"] == later
    assert stored(deployed) == 2


def test_a_request_that_reads_the_review_queue_waits_for_the_predictions_before_it(
    client: TestClient, keys: Keys, deployed: Store, pool: ThreadPoolExecutor
) -> None:
    log = client.app.state.runtime.predictions
    held = HeldWrites(log)
    held.hold()
    classify(client, keys, "a text the model is unsure of")  # threshold 0.5: maybe a task
    queue = pool.submit(
        client.get, "/v1/classifiers/topics/review/tasks", headers=keys.header(keys.review)
    )
    time.sleep(0.3)
    assert not queue.done()  # it reads what the writer holds: it waits for it
    held.release()
    assert queue.result(timeout=ANSWERED).status_code == 200
    assert stored(deployed) == 1


def test_a_full_queue_refuses_classify_with_503_until_storage_catches_up(
    deployed: Store, settings: Settings, keys: Keys
) -> None:
    limited = replace(settings, prediction_queue_limit=2)
    with TestClient(create_app(limited), raise_server_exceptions=False) as client:
        log = client.app.state.runtime.predictions
        held = HeldWrites(log)
        held.hold()
        assert classify(client, keys, "one").status_code == 200
        assert classify(client, keys, "two").status_code == 200
        refused = classify(client, keys, "three")
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "storage_behind"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "behind" in ready.json()["error"]["message"]
        assert ready.json()["predictions"]["queued"] == ready.json()["predictions"]["limit"] == 2
        assert ready.json()["predictions"]["oldest_seconds"] > 0
        held.release()
        assert log.flush()
        assert classify(client, keys, "three, again").status_code == 200
        assert client.get("/readyz").status_code == 200
        settle(client)
    assert stored(deployed) == 3  # every acknowledged prediction, the refused one not


def test_a_request_to_several_classifiers_is_kept_whole_or_refused_whole(
    deployed: Store, settings: Settings, keys: Keys, corpus_csv: Path
) -> None:
    deploy_corpus(deployed, settings, corpus_csv, "news")
    limited = replace(settings, prediction_queue_limit=2)
    with TestClient(create_app(limited), raise_server_exceptions=False) as client:
        held = HeldWrites(client.app.state.runtime.predictions)
        held.hold()
        assert classify(client, keys, "one").status_code == 200
        both = {"classifiers": ["topics", "news"], "text": "rain and goals"}
        refused = client.post("/v1/classify", json=both, headers=keys.header(keys.classify))
        assert refused.status_code == 503, refused.text  # one more fits, two do not
        held.release()
        settle(client)
    assert stored(deployed) == 1  # neither classifier's answer to the refused request
