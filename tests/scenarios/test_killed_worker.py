"""A worker killed in the middle of a retrain changes nothing, and the job runs again."""

import os
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.corpus import write_corpus
from tests.processes import TEXTLOOP, environment, run_cli
from textloop.config import Settings
from textloop.jobs import queue
from textloop.notifications.events import list_events
from textloop.registry.aliases import PRODUCTION
from textloop.store import Store, open_store
from textloop.store.queries import aliased_model, get_classifier
from textloop.store.tables import Job, utcnow
from textloop.worker import Worker

pytestmark = [pytest.mark.slow, pytest.mark.storage]  # the retrain loads the sentence encoder


def production(store: Store) -> int:
    with store.session() as session:
        model = aliased_model(session, get_classifier(session, "topics"), PRODUCTION)
        assert model is not None
        return model.version


def wait_for(check, seconds: float = 60):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return found


def test_a_killed_worker_leaves_production_and_another_takes_the_job_over(
    tmp_path: Path, database_url: str
) -> None:
    env = environment(tmp_path / "data", database_url)
    corpus = write_corpus(tmp_path / "corpus.csv")
    assert run_cli(env, "ingest", str(corpus), "-c", "topics").returncode == 0
    assert run_cli(env, "train", "topics", "--model", "ngram", "--deploy").returncode == 0
    assert run_cli(env, "retrain", "topics", "--model", "auto").returncode == 0
    settings = Settings.load(data_dir=tmp_path / "data", database_url=database_url)
    store = open_store(settings)

    def started() -> bool:
        with store.session() as session:
            return any(e.type == "run.started" for e in list_events(session))

    with (tmp_path / "worker.log").open("w") as log:
        worker = subprocess.Popen(
            [TEXTLOOP, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_for(started)
            os.kill(worker.pid, signal.SIGKILL)  # in the middle of the run
        finally:
            worker.wait(timeout=30)
    with store.session() as session:
        job = session.scalars(select(Job)).one()
        assert (job.status, job.attempts) == ("running", 1)
        job.heartbeat_at = utcnow() - queue.LEASE - timedelta(seconds=1)  # its lease runs out
    assert production(store) == 1

    assert Worker(store, settings).run_once()
    with store.session() as session:
        job = session.scalars(select(Job)).one()
        events = [e.type for e in list_events(session)]
    assert (job.status, job.attempts) == ("succeeded", 2), job.error
    assert events[:4] == ["model.deployed", "run.started", "run.failed", "run.started"]
    assert events[-1] == "run.succeeded" and production(store) == 2
    store.dispose()
