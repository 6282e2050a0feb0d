"""The job queue hands each due job to one worker, retries failures with backoff, and keeps all."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from textloop.config import Settings
from textloop.jobs import queue
from textloop.jobs.queue import claim, enqueue, fail, heartbeat, succeed
from textloop.store import Store
from textloop.store.tables import Job, JobStatus, utcnow
from textloop.worker import Worker

pytestmark = pytest.mark.storage

DEAD, QUEUED, RUNNING, SUCCEEDED = (
    JobStatus.DEAD,
    JobStatus.QUEUED,
    JobStatus.RUNNING,
    JobStatus.SUCCEEDED,
)


def test_a_waiting_job_absorbs_the_same_request_and_a_running_one_gets_one_follow_up(
    store: Store, classifier_id: int
) -> None:
    with store.session() as session:
        first = enqueue(session, "retrain", classifier_id)
        assert enqueue(session, "retrain", classifier_id).id == first.id
        assert claim(session, "w1").id == first.id
        follow_up = enqueue(session, "retrain", classifier_id)
        assert follow_up.id != first.id
        assert enqueue(session, "retrain", classifier_id).id == follow_up.id
        statuses = session.scalars(select(Job.status).order_by(Job.id)).all()
    assert statuses == [RUNNING, QUEUED]


def test_one_classifier_runs_one_job_of_a_kind_at_a_time(store: Store, classifier_id: int) -> None:
    with store.session() as session:
        enqueue(session, "retrain", classifier_id)
        enqueue(session, "retrain", classifier_id, coalesce=False)
        other = enqueue(session, "export", classifier_id)
        assert claim(session, "w1").kind == "retrain"
        assert claim(session, "w2").id == other.id  # the second retrain waits for the first
        assert claim(session, "w3") is None


def test_failures_retry_with_growing_backoff_then_go_to_the_dead_letter(
    store: Store, classifier_id: int
) -> None:
    with store.session() as session:
        job = enqueue(session, "retrain", classifier_id, max_attempts=3)
        delays = []
        for attempt in range(1, 4):
            session.get(Job, job.id).run_after = utcnow()  # the backoff has passed
            assert claim(session, "w1").attempts == attempt
            before = utcnow()
            failed = fail(session, job.id, "w1", f"boom {attempt}")
            delays.append((failed.run_after - before).total_seconds())
        assert failed.status == DEAD and failed.error == "boom 3" and failed.finished_at
        assert delays[1] > 1.9 * delays[0] > 0
        assert claim(session, "w1") is None


def test_a_job_whose_worker_stopped_is_claimed_again_and_the_lost_attempt_counts(
    store: Store, classifier_id: int
) -> None:
    with store.session() as session:
        job = enqueue(session, "retrain", classifier_id)
        claim(session, "dead worker")
        assert claim(session, "w2") is None  # its lease is still fresh
        session.get(Job, job.id).heartbeat_at = utcnow() - queue.LEASE - timedelta(seconds=1)
        again = claim(session, "w2")
        assert again.id == job.id and again.attempts == 2 and again.worker == "w2"
        assert "dead worker stopped sending heartbeats" in again.error
        assert not heartbeat(session, job.id, "dead worker")
        assert heartbeat(session, job.id, "w2")
        assert fail(session, job.id, "dead worker", "late news") is None  # not its job now
        assert succeed(session, job.id, "dead worker", {}) is None
        assert session.get(Job, job.id).status == RUNNING


def test_concurrent_workers_never_run_the_same_job_twice(
    store: Store, settings: Settings, classifier_id: int
) -> None:
    with store.session() as session:
        for number in range(60):
            enqueue(session, "count", None, {"number": number}, coalesce=False)
    ran: list[int] = []
    lock = threading.Lock()

    def count(store, settings, name, payload, resources):  # type: ignore[no-untyped-def]
        with lock:
            ran.append(payload["number"])
        return {"number": payload["number"]}

    workers = [Worker(store, settings, handlers={"count": count}, name=f"w{i}") for i in range(4)]

    def drain(worker: Worker) -> None:
        while worker.run_once():
            pass

    threads = [threading.Thread(target=drain, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(ran) == list(range(60))
    with store.session() as session:
        jobs = session.scalars(select(Job)).all()
    assert {job.status for job in jobs} == {SUCCEEDED}
    assert all(job.attempts == 1 for job in jobs)
    assert len({job.worker for job in jobs}) > 1


def test_workers_claiming_at_once_never_run_two_jobs_of_one_classifier_and_kind(
    store: Store, classifier_id: int
) -> None:
    with store.session() as session:
        for number in range(2):
            enqueue(session, "retrain", classifier_id, {"number": number}, coalesce=False)
    start = threading.Barrier(2)
    claimed: list[int | None] = []

    def take(name: str) -> None:
        start.wait()
        with store.session() as session:
            job = claim(session, name)
            claimed.append(job.id if job else None)
            session.commit()

    threads = [threading.Thread(target=take, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with store.session() as session:
        running = session.scalars(select(Job).where(Job.status == RUNNING)).all()
    assert len(running) == 1 and sorted(claimed, key=str) == sorted([running[0].id, None], key=str)
