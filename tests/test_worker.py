"""The worker runs each job kind in a lane of its own: a long job of one kind never holds back
a job of another."""

import threading
import time

from sqlalchemy import select

from textloop.config import Settings
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
