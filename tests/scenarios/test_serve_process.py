"""``textloop serve`` as operators run it: on the encoder's ONNX export without torch, in several
processes on one port, refusing a revoked key in every one of them within a second, and losing
no answered prediction when killed."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from tests.corpus import write_corpus
from tests.processes import environment, run_cli, running_server, server_pids
from textloop.config import Settings
from textloop.store import open_store
from textloop.store.tables import ApiKey, Prediction

pytestmark = pytest.mark.storage


def deployed_classifier(env: dict[str, str], tmp_path: Path, model: str) -> str:
    """Ingest the corpus, train ``model``, deploy it; return a classify key."""
    corpus = write_corpus(tmp_path / "corpus.csv")
    for command in (
        ("ingest", str(corpus), "-c", "topics"),
        ("train", "topics", "--model", model),
        # what a server loads is under test here, not the latency check infra-validation makes
        # (its own tests), which a busy CI machine can fail for the encoder: --force
        ("deploy", "topics", "--force"),
    ):
        done = run_cli(env, *command)
        assert done.returncode == 0, done.stderr
    keys = run_cli(env, "keys", "create", "--scopes", "classify", "--json")
    return str(json.loads(keys.stdout)["api_key"])


@pytest.mark.slow
def test_an_embedding_classifier_is_served_without_loading_torch(tmp_path: Path) -> None:
    # What a process loads does not depend on the database: SQLite only, to keep CI short.
    env = environment(tmp_path / "data", f"sqlite:///{tmp_path / 'textloop.db'}")
    key = deployed_classifier(env, tmp_path, "embedding")  # training exports the encoder
    log = tmp_path / "server.log"
    with running_server(env, log) as base:
        answer = httpx.post(
            f"{base}/v1/classifiers/topics/classify",
            json={"text": "the striker scored a late goal"},
            headers={"x-api-key": key},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["label"] == "sport"
        (pid,) = server_pids(log)
        libraries = Path(f"/proc/{pid}/maps").read_text()
        assert "onnxruntime" in libraries
        assert "libtorch" not in libraries


def test_several_processes_serve_one_port_and_all_refuse_a_revoked_key(
    tmp_path: Path, database_url: str
) -> None:
    env = environment(tmp_path / "data", database_url)
    key = deployed_classifier(env, tmp_path, "ngram")
    log = tmp_path / "server.log"
    url = "/v1/classifiers/topics/classify"
    with (
        running_server(env, log, "--workers", "2") as base,
        httpx.Client(base_url=base, headers={"x-api-key": key}, timeout=30) as http,
    ):
        for _ in range(20):
            answer = http.post(url, json={"text": "rain and wind tomorrow"})
            assert answer.status_code == 200 and answer.json()["label"] == "weather"
        started = time.monotonic() + 60  # on a busy machine the second may still be starting
        while len(server_pids(log)) < 2 and time.monotonic() < started:
            time.sleep(0.1)
        assert len(server_pids(log)) == 2

        store = open_store(Settings.load(data_dir=tmp_path / "data", database_url=database_url))
        with store.session() as session:  # revoked elsewhere, as another server would
            session.execute(update(ApiKey).values(revoked_at=ApiKey.created_at))
            session.commit()
        store.dispose()
        refused_in_a_row, deadline = 0, time.monotonic() + 30
        while refused_in_a_row < 20 and time.monotonic() < deadline:
            status = http.post(url, json={"text": "rain"}).status_code
            refused_in_a_row = refused_in_a_row + 1 if status == 401 else 0
        assert refused_in_a_row == 20  # and no process answers it again


# On PostgreSQL the same guarantee is part of the several-hosts scenario (test_several_hosts).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_predictions_answered_by_a_killed_server_are_stored_by_the_next(
    tmp_path: Path, database_url: str
) -> None:
    env = environment(tmp_path / "data", database_url)
    key = deployed_classifier(env, tmp_path, "ngram")
    answered = []
    with (
        running_server(env, tmp_path / "first.log") as base,
        httpx.Client(base_url=base, headers={"x-api-key": key}, timeout=30) as http,
    ):
        for number in range(30):
            text = f"storm and rain number {number}"
            answer = http.post("/v1/classifiers/topics/classify", json={"text": text})
            answered.append(answer.json()["prediction_id"])
        (pid,) = server_pids(tmp_path / "first.log")
        os.kill(pid, signal.SIGKILL)  # at once: its last answers are not stored yet
    with running_server(env, tmp_path / "second.log"):
        store = open_store(Settings.load(data_dir=tmp_path / "data", database_url=database_url))
        with store.session() as session:
            stored = set(session.scalars(select(Prediction.id)))
        store.dispose()
    assert set(answered) <= stored
    assert not list((tmp_path / "data" / "journal").glob("*.recovering-*"))
