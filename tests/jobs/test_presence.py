"""`textloop retrain` says whether a worker will run the job: workers announce themselves."""

from __future__ import annotations

import threading
import time

import pytest

from textloop.cli.loop import who_runs_it
from textloop.config import Settings
from textloop.jobs.presence import STALE, announce, leave, live_workers
from textloop.store import Store
from textloop.store.tables import WorkerPresence, utcnow
from textloop.worker import Worker

pytestmark = pytest.mark.storage


def test_an_idle_running_worker_is_seen_and_gone_once_it_stops(
    store: Store, settings: Settings
) -> None:
    worker = Worker(store, settings, handlers={}, name="host:1:abc")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop, 0.05), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with store.session() as session:
                if live_workers(session) == ["host:1:abc"]:
                    break
            time.sleep(0.05)
        with store.session() as session:
            assert live_workers(session) == ["host:1:abc"]
    finally:
        stop.set()
        thread.join(10)
    with store.session() as session:
        assert live_workers(session) == []


def test_a_worker_not_seen_for_a_minute_is_not_running(store: Store) -> None:
    with store.session() as session:
        announce(session, "dead")
        announce(session, "alive")
    with store.session() as session:
        row = session.get(WorkerPresence, "dead")
        assert row is not None
        row.seen_at = utcnow() - STALE * 2
    with store.session() as session:
        assert live_workers(session) == ["alive"]
        leave(session, "alive")
    with store.session() as session:
        assert live_workers(session) == []


def test_the_retrain_message_says_whether_a_worker_runs_it() -> None:
    assert "no worker is running: start `textloop worker`" in who_runs_it([])
    assert who_runs_it(["a"]) == "worker a is running and will pick it up"
    assert "workers a and 1 more are running" in who_runs_it(["a", "b"])
