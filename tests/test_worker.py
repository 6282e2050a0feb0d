"""The worker runs each job kind in a lane of its own: a long job of one kind never holds back
a job of another."""

import threading
import time

import pytest
from sqlalchemy import select

from textloop import worker as worker_module
from textloop.config import Settings
from textloop.jobs.lease import expect_progress, progressed
from textloop.jobs.queue import enqueue
from textloop.store import Store
from textloop.store.tables import Job, JobStatus
from textloop.worker import Worker


def statuses(store: Store) -> dict[str, str]:
    with store.session() as session:
        return {job.kind: job.status for job in session.scalars(select(Job))}


def test_a_drift_check_runs_while_a_long_retrain_of_the_same_worker_goes_on(
    store: Store, settings: Settings
) -> None:
    started, finish = threading.Event(), threading.Event()

    def long_retrain(*_: object) -> dict[str, bool]:
        started.set()
        finish.wait(60)
        return {"trained": True}

    def drift_check(*_: object) -> dict[str, bool]:
        return {"drifted": False}

    with store.session() as session:  # the retrain is first in line
        enqueue(session, "retrain", None)
        enqueue(session, "drift", None)
    worker = Worker(store, settings, handlers={"retrain": long_retrain, "drift": drift_check})
    stop = threading.Event()
    running = threading.Thread(target=worker.run, args=(stop, 0.05))
    running.start()
    try:
        assert started.wait(30)
        deadline = time.monotonic() + 30
        while statuses(store)["drift"] != JobStatus.SUCCEEDED and time.monotonic() < deadline:
            time.sleep(0.05)
        assert statuses(store) == {"retrain": JobStatus.RUNNING, "drift": JobStatus.SUCCEEDED}
    finally:
        finish.set()
        stop.set()
        running.join(30)
    assert statuses(store) == {"retrain": JobStatus.SUCCEEDED, "drift": JobStatus.SUCCEEDED}


def heartbeats(store: Store) -> list[object]:
    with store.session() as session:
        return [job.heartbeat_at for job in session.scalars(select(Job))]


def test_a_job_that_stops_making_progress_is_not_kept_alive_by_heartbeats(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "HEARTBEAT_SECONDS", 0.05)
    stepping, stuck, release = threading.Event(), threading.Event(), threading.Event()

    def batch(*_: object) -> dict[str, bool]:
        expect_progress(0.3)
        for _ in range(10):  # steps well within the allowance: the lease is renewed
            progressed()
            time.sleep(0.05)
        stepping.set()
        stuck.set()
        release.wait(30)  # a read that never returns
        return {"done": True}

    with store.session() as session:
        enqueue(session, "batch", None)
    worker = Worker(store, settings, handlers={"batch": batch})
    running = threading.Thread(target=worker.run_once)
    running.start()
    try:
        assert stuck.wait(30)
        renewed = heartbeats(store)
        time.sleep(1.0)  # over three times the allowance, twenty heartbeat intervals
        first = heartbeats(store)
        time.sleep(0.5)
        assert heartbeats(store) == first  # no longer renewed: another worker may take it
        assert first != [None] and renewed != [None]
    finally:
        release.set()
        running.join(30)


def test_a_job_that_never_says_how_long_it_may_stall_keeps_its_lease(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "HEARTBEAT_SECONDS", 0.05)
    started, release = threading.Event(), threading.Event()

    def retrain(*_: object) -> dict[str, bool]:
        started.set()
        release.wait(30)
        return {"done": True}

    with store.session() as session:
        enqueue(session, "retrain", None)
    running = threading.Thread(
        target=Worker(store, settings, handlers={"retrain": retrain}).run_once
    )
    running.start()
    try:
        assert started.wait(30)
        time.sleep(0.3)
        first = heartbeats(store)
        time.sleep(0.5)
        assert heartbeats(store) != first
    finally:
        release.set()
        running.join(30)
