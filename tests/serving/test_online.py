"""The server's hot path: concurrent requests share model calls, predictions are stored after the
answer without being lost, and several classifiers answer one request."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.serving.conftest import Keys, deploy_corpus, settle
from textloop.config import Settings
from textloop.pipeline.training import train_classifier
from textloop.predict.batched import Batcher
from textloop.predict.deployment import find_deployment
from textloop.predict.outcome import to_scored
from textloop.predict.records import records
from textloop.registry.aliases import PRODUCTION, set_alias
from textloop.security.api_keys import create_api_key
from textloop.serving.journal import Journal, recover
from textloop.serving.prediction_log import Entry, PredictionLog
from textloop.store import Store
from textloop.store.tables import Prediction


class SlowModel:
    """Answers each text with its length; its first call blocks until released, so requests
    pile up behind it as they would behind a busy encoder."""

    def __init__(self) -> None:
        self.classes_ = ["length"]
        self.calls: list[int] = []
        self.release = threading.Event()

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if not self.calls:
            self.release.wait(timeout=10)
        self.calls.append(len(texts))
        return np.array([[float(len(text))] for text in texts])


async def ask_all(batcher: Batcher, model: SlowModel, texts: list[str]) -> list[np.ndarray]:
    first = asyncio.ensure_future(batcher.predict_async(model, texts[:1]))
    await asyncio.sleep(0.05)  # the first call is under way, and blocked
    rest = [asyncio.ensure_future(batcher.predict_async(model, [text])) for text in texts[1:]]
    await asyncio.sleep(0.05)
    model.release.set()
    return await asyncio.gather(first, *rest)


def test_requests_that_arrive_during_a_model_call_share_the_next_one() -> None:
    batcher, model = Batcher(max_wait=0.002), SlowModel()
    texts = [f"text number {'x' * n}" for n in range(10)]
    answers = asyncio.run(ask_all(batcher, model, texts))
    batcher.close()
    assert [float(a[0, 0]) for a in answers] == [len(text) for text in texts]  # each its own
    assert model.calls == [1, 9]


def test_with_batching_off_every_request_is_its_own_call() -> None:
    batcher, model = Batcher(max_wait=0), SlowModel()
    texts = [f"text {n}" for n in range(5)]
    answers = asyncio.run(ask_all(batcher, model, texts))
    batcher.close()
    assert [float(a[0, 0]) for a in answers] == [len(text) for text in texts]
    assert model.calls == [1, 1, 1, 1, 1]


def test_a_failing_model_fails_the_requests_of_its_call() -> None:
    class Broken:
        def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
            raise ValueError("no model today")

    async def ask() -> None:
        await Batcher().predict_async(Broken(), ["a text"])

    with pytest.raises(ValueError, match="no model today"):
        asyncio.run(ask())


def entry_for(store: Store, texts: list[str], threshold: float = 0.0) -> Entry:
    with store.session() as session:
        deployment = replace(find_deployment(session, "topics"), threshold=threshold)
    scored = to_scored(np.array([[0.4, 0.6]] * len(texts)), ["finance", "sport"])
    done = records(deployment, texts, scored)
    return Entry(done.predictions, done.tasks)


def stored(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(Prediction)) or 0


def test_queued_predictions_are_stored_and_closing_stores_the_rest(deployed: Store) -> None:
    log = PredictionLog(deployed)
    first = entry_for(deployed, ["one text"])
    assert log.offer(first)
    log.flush()
    assert stored(deployed) == 1
    for number in range(50):
        log.offer(entry_for(deployed, [f"text {number}", f"another {number}"], threshold=0.7))
    log.close()
    assert stored(deployed) == 101
    assert log.stored == 101 and not log.pending()


def test_a_full_queue_refuses_an_offer_and_forgets_it(deployed: Store) -> None:
    log = PredictionLog(deployed, limit=2)
    log.close()  # nothing takes from the queue any more
    assert log.offer(
        entry_for(deployed, ["an empty queue takes", "any entry", "whatever its size"])
    )
    assert not log.offer(entry_for(deployed, ["finds no room"]))
    assert log.queued() == 3  # the first is still waiting; the refused one is not counted


@pytest.fixture
def two_classifiers(deployed: Store, settings: Settings, corpus_csv: Path) -> Store:
    return deploy_corpus(deployed, settings, corpus_csv, "news")


def test_one_request_asks_several_classifiers(
    two_classifiers: Store, client: TestClient, keys: Keys
) -> None:
    settle(client)
    body = {"classifiers": ["topics", "news"], "text": "the striker scored a goal"}
    answer = client.post("/v1/classify", json=body, headers=keys.header(keys.classify))
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    assert set(predictions) == {"topics", "news"}
    assert predictions["topics"]["label"] == predictions["news"]["label"] == "sport"
    many = client.post(
        "/v1/classify",
        json={"classifiers": ["news"], "texts": ["rain and storm", "the bank raised rates"]},
        headers=keys.header(keys.classify),
    ).json()["predictions"]
    assert [p["label"] for p in many["news"]] == ["weather", "finance"]
    settle(client)
    assert stored(two_classifiers) == 4  # one per classifier and text, as for one classifier


def test_several_classifiers_refuse_what_one_would(
    two_classifiers: Store, client: TestClient, keys: Keys
) -> None:
    with two_classifiers.session() as session:
        only_topics = create_api_key(session, ["classify"], ["topics"]).key
        session.commit()
    ask = {"classifiers": ["topics", "news"], "text": "a goal"}
    refused = client.post("/v1/classify", json=ask, headers=keys.header(only_topics))
    assert refused.status_code == 403 and "news" in refused.text
    unknown = {"classifiers": ["topics", "nothing"], "text": "a goal"}
    missing = client.post("/v1/classify", json=unknown, headers=keys.header(keys.classify))
    assert missing.status_code == 404 and "nothing" in missing.text
    twice = {"classifiers": ["topics", "topics"], "text": "a goal"}
    repeated = client.post("/v1/classify", json=twice, headers=keys.header(keys.classify))
    assert repeated.status_code == 422 and "once" in repeated.text
    settle(client)
    assert stored(two_classifiers) == 0  # nothing answered, nothing stored


def test_a_deploy_made_elsewhere_is_served_within_a_second(
    client: TestClient, keys: Keys, deployed: Store, settings: Settings
) -> None:
    ask = {"json": {"text": "rain"}, "headers": keys.header(keys.classify)}
    assert client.post("/v1/classifiers/topics/classify", **ask).json()["model_version"] == 1
    train_classifier(deployed, settings, "topics", "ngram", use_cache=False)
    with deployed.session() as session:  # as a worker's deploy would, behind the server's back
        set_alias(session, "topics", PRODUCTION, 2)
        session.commit()
    served, deadline = 1, time.monotonic() + 15
    while served == 1 and time.monotonic() < deadline:
        time.sleep(0.05)
        served = client.post("/v1/classifiers/topics/classify", **ask).json()["model_version"]
    assert served == 2


def test_a_dead_servers_journal_is_stored_once_and_a_torn_last_line_skipped(
    deployed: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "journal"
    journal = Journal(folder)
    first, second = entry_for(deployed, ["one"]), entry_for(deployed, ["two", "three"], 0.7)
    journal.append(first.predictions, first.tasks, 1)
    journal.append(second.predictions, second.tasks, 2)
    journal.append(first.predictions, first.tasks, 3)  # the same rows twice are stored once
    with journal.path.open("a") as file:
        file.write('{"predictions": [{"id": "torn')  # killed mid-line: never answered
    journal.path.rename(folder / f"{2**22 + 1}-deadbeef.jsonl")  # a pid no process can have
    assert recover(folder, deployed) == 3 + 2  # three predictions, two below the threshold
    assert stored(deployed) == 3 and not list(folder.iterdir())
    assert recover(folder, deployed) == 0


def test_a_live_servers_journal_is_left_alone(deployed: Store, tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    entry = entry_for(deployed, ["still queued"])
    journal.append(entry.predictions, entry.tasks, 1)
    assert recover(tmp_path, deployed) == 0 and journal.path.exists()
    journal.close()
    assert not journal.path.exists()
