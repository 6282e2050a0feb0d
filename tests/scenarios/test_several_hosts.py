"""The scaled layout: two ``textloop serve`` replicas and a ``textloop worker``, each with a data
folder of its own, sharing PostgreSQL and an S3 artifact store, under steady load on both.

A deploy and a rollback made through replica A are served by replica B within a second; a
retrain the worker finishes is served by both; no request fails; killing A with SIGKILL loses no
prediction it acknowledged (its journal is stored when it starts again) while B keeps
answering; the key's usage counts every admitted request of both.

``make test`` runs it shortened; ``TEXTLOOP_SCENARIO_FULL=1`` runs the full version (four
clients per replica, and a minute of steady load between the changes) whose figures are in
docs/benchmarks.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.corpus import write_corpus
from tests.processes import TEXTLOOP, environment, running_server, server_pids
from tests.s3_server import S3Server
from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.registry.aliases import PRODUCTION, set_alias
from textloop.security.api_keys import create_api_key
from textloop.store import Store
from textloop.store.tables import KeyUsage, Prediction

pytestmark = [pytest.mark.usefixtures("s3_credentials"), pytest.mark.slow]

CLASSIFY = "/v1/classifiers/topics/classify"
SWAP_SECONDS = 1.0  # a change made through A is served by B within this
FULL = os.environ.get("TEXTLOOP_SCENARIO_FULL") == "1"
CLIENTS = 4 if FULL else 1  # per replica
STEADY = 60.0 if FULL else 0.0  # seconds of load, beyond the swap, after each change


@dataclass
class Answer:
    sent: float  # monotonic time the request was sent
    status: int | None  # None: no answer (a transport error)
    version: int | None = None
    prediction_id: str | None = None


@dataclass
class Load:
    """Requests one after another from a few threads, each answer recorded."""

    base: str
    key: str
    threads: int = CLIENTS
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._workers = [threading.Thread(target=self._run, args=(n,)) for n in range(self.threads)]
        for worker in self._workers:
            worker.start()

    def _run(self, number: int) -> None:
        with httpx.Client(base_url=self.base, headers={"x-api-key": self.key}, timeout=30) as http:
            sent = 0
            while not self.stop.is_set():
                sent += 1
                began = time.monotonic()
                text = f"rain and snow over the hills, report {number}-{sent}"
                try:
                    reply = http.post(CLASSIFY, json={"text": text})
                except httpx.TransportError:
                    self.answers.append(Answer(began, None))
                    continue
                body = reply.json() if reply.status_code == 200 else {}
                version, prediction = body.get("model_version"), body.get("prediction_id")
                self.answers.append(Answer(began, reply.status_code, version, prediction))

    def halt(self) -> None:
        self.stop.set()
        for worker in self._workers:
            worker.join(timeout=60)

    def swapped(self, moment: float, version: int) -> float:
        """Seconds from ``moment`` until every answer (by the time it was sent) is ``version``."""
        later = sorted((a for a in self.answers if a.sent >= moment), key=lambda a: a.sent)
        assert later and later[-1].version == version, "not answered by the new version"
        other = [a.sent for a in later if a.version != version]
        return (max(other) - moment) if other else 0.0

    def failed(self) -> list[Answer]:
        return [a for a in self.answers if a.status != 200]


@contextmanager
def worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("w") as output:
        process = subprocess.Popen(
            [TEXTLOOP, "worker", "--poll", "0.2"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=60)


def ingest(settings: Settings, store: Store, name: str, per_label: int = 40) -> None:
    rows = read_labelled_file(write_corpus(settings.data_dir.parent / name, per_label=per_label))
    ingest_batch(store, settings, "topics", rows, name)


def until(condition: object, seconds: float, what: str) -> float:
    """Wait for ``condition()`` to hold; the seconds it took."""
    began = time.monotonic()
    while not condition():  # type: ignore[operator]
        assert time.monotonic() - began < seconds, f"{what} within {seconds} s"
        time.sleep(0.05)
    return time.monotonic() - began


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_replicas_and_a_worker_on_separate_hosts_share_one_database_and_one_store(
    s3: S3Server, tmp_path: Path, settings: Settings, store: Store
) -> None:
    root = f"s3://{s3.bucket()}/textloop"

    def host(name: str) -> dict[str, str]:
        env = environment(tmp_path / name, settings.database_url)
        env.update(s3.environment(), TEXTLOOP_ARTIFACT_ROOT=root)
        return env

    a, b, w = host("a"), host("b"), host("worker")
    # what an admin host sets up beforehand, in this process: the same database and store
    here = Settings.load(tmp_path / "admin", settings.database_url, root).with_flags(
        s3_endpoint_url=s3.endpoint
    )
    ingest(here, store, "c.csv")
    train_classifier(store, here, "topics", "ngram")  # version 1, deployed
    train_classifier(store, here, "topics", "majority")  # version 2, not deployed
    with store.session() as session:
        set_alias(session, "topics", PRODUCTION, 1)
        admin = create_api_key(session, ["admin"])
        user = create_api_key(session, ["classify"], monthly_quota=1_000_000)
        admin_key, user_key, user_id = admin.key, user.key, user.id
    headers = {"x-api-key": admin_key}

    with (
        running_server(a, tmp_path / "a.log") as base_a,
        running_server(b, tmp_path / "b.log") as base_b,
        worker(w, tmp_path / "worker.log"),
    ):
        load_a, load_b = Load(base_a, user_key), Load(base_b, user_key)
        try:
            until(lambda: len(load_b.answers) > 20, 30, "B answers")

            # a deploy through A
            deploy = {"version": 2, "force": True}
            moved = httpx.post(f"{base_a}/v1/classifiers/topics/deployments", json=deploy,
                               headers=headers, timeout=60)  # fmt: skip
            assert moved.status_code == 201, moved.text
            deployed_at = time.monotonic()
            time.sleep(SWAP_SECONDS + 0.5 + STEADY)
            lags = {"deploy via A, on B": load_b.swapped(deployed_at, 2)}

            # a rollback through A
            back = httpx.post(
                f"{base_a}/v1/classifiers/topics/rollback", headers=headers, timeout=60
            )
            assert back.status_code == 201, back.text
            rolled_at = time.monotonic()
            time.sleep(SWAP_SECONDS + 0.5 + STEADY)
            lags["rollback via A, on B"] = load_b.swapped(rolled_at, 1)

            # a retrain on new data, run by the worker on its own host
            ingest(here, store, "more.csv", per_label=60)
            queued = httpx.post(f"{base_a}/v1/classifiers/topics/retrain",
                                json={"model": "ngram"}, headers=headers, timeout=60)  # fmt: skip
            assert queued.status_code == 202, queued.text

            def retrained() -> bool:
                job = httpx.get(f"{base_b}/v1/jobs/{queued.json()['id']}", headers=headers).json()
                assert job["status"] not in ("failed", "dead"), job
                return job["status"] == "succeeded"

            until(retrained, 300, "the worker finished the retrain")
            finished_at = time.monotonic()
            time.sleep(SWAP_SECONDS + 0.5 + STEADY)
            lags["retrain by the worker, on A"] = load_a.swapped(finished_at, 3)
            lags["retrain by the worker, on B"] = load_b.swapped(finished_at, 3)
            print("seconds until served:", {k: round(v, 3) for k, v in lags.items()})
            assert max(lags.values()) <= SWAP_SECONDS, lags

            # A dies mid-stream; B answers on
            (pid_a,) = server_pids(tmp_path / "a.log")
            os.kill(pid_a, signal.SIGKILL)
            killed_at = time.monotonic()
            load_a.halt()
            time.sleep(1.0)
            assert any(answer.sent > killed_at for answer in load_b.answers)
        finally:
            load_a.halt()
            load_b.halt()
        assert load_b.failed() == []
        assert [x for x in load_a.failed() if x.sent < killed_at - 0.5] == []

    acknowledged = {x.prediction_id for x in load_a.answers + load_b.answers if x.status == 200}
    unanswered = sum(1 for x in load_a.failed())  # sent to A as it died: admitted or not
    with running_server(a, tmp_path / "a-again.log"):  # A's journal is stored as it starts
        pass
    with store.session() as session:
        stored = set(session.scalars(select(Prediction.id)).all())
        admitted = session.scalar(
            select(func.sum(KeyUsage.requests)).where(KeyUsage.api_key_id == user_id)
        )
    assert acknowledged <= {str(p) for p in stored}
    assert admitted is not None
    assert len(acknowledged) <= admitted <= len(acknowledged) + unanswered
    print(f"answered {len(acknowledged)} (A {sum(a.status == 200 for a in load_a.answers)}, "
          f"B {sum(a.status == 200 for a in load_b.answers)}), usage counted {admitted}, "
          f"sent to A as it died {unanswered}")  # fmt: skip
