"""The worker: claims due jobs and runs them, sending heartbeats meanwhile, and sends webhook
deliveries beside them. Each job kind has a lane of its own (a thread running that kind's jobs
one at a time), so a drift check or a batch job never waits behind a long retrain.

A job's handler is looked up by its kind in ``job_handlers``. Success and failure are recorded
in fresh transactions; a failure schedules a retry with backoff or dead-letters the job (see
``jobs.queue``). A worker that is killed mid-job simply stops sending heartbeats, and another
claims the job. It is an entry point, above every package whose jobs it runs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from textloop.config import Settings
from textloop.continuous.triggers import RETRAIN, fire_due_schedules
from textloop.jobs.lease import Progress, holding
from textloop.jobs.presence import ANNOUNCE, announce, leave
from textloop.jobs.queue import claim, fail, heartbeat, lost_attempt, succeed
from textloop.models.base import ModelResources, Use
from textloop.monitoring.drift import enqueue_due_drift_checks
from textloop.notifications.events import emit
from textloop.plugins import Registry
from textloop.retry_log import RetryLog
from textloop.store.database import Store
from textloop.store.tables import Classifier

log = logging.getLogger("textloop.worker")
Handler = Callable[[Store, Settings, str, dict[str, Any], ModelResources], dict[str, Any]]
HEARTBEAT_SECONDS = 10.0
ANNOUNCE_SECONDS = ANNOUNCE.total_seconds()


def _builtins() -> None:
    from textloop.batch.jobs import BATCH, run_batch_job
    from textloop.continuous.retrain import retrain
    from textloop.monitoring.drift import DRIFT, check_drift

    for kind, handler in ((RETRAIN, retrain), (DRIFT, check_drift), (BATCH, run_batch_job)):
        job_handlers.register(kind)(handler)


# What runs a job of each kind; a handler is ``Handler``, registered like a model family.
job_handlers = Registry("job kind", "job kinds", "job_kind", _builtins)


def default_handlers() -> dict[str, Handler]:
    return {kind: job_handlers.get(kind) for kind in job_handlers.names()}


class Worker:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        resources: ModelResources | None = None,
        handlers: dict[str, Handler] | None = None,
        name: str | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.resources = resources or ModelResources.for_settings(settings, Use.TRAINING)
        self.handlers = handlers if handlers is not None else default_handlers()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def run_once(self, kinds: tuple[str, ...] | None = None) -> bool:
        """Run one due job (of ``kinds``, default any this worker handles) if there is one;
        True when a job was run (whatever its outcome)."""
        with self.store.session() as session:
            job = claim(session, self.name, kinds or tuple(self.handlers))
            if job is None:
                return False
            job_id, kind, payload = job.id, job.kind, dict(job.payload)
            classifier = session.get(Classifier, job.classifier_id) if job.classifier_id else None
            name = classifier.name if classifier else ""
            lost = job.error if lost_attempt(job) else None
        if lost and kind == RETRAIN:  # nobody could say so when it died, so say it now
            emit(
                self.store, job.classifier_id, "run.failed", classifier=name, error=lost, job=job_id
            )
        log.info("job %s (%s %s) started on %s", job_id, kind, name, self.name)
        stop = threading.Event()
        progress = Progress()
        beating = threading.Thread(target=self._beat, args=(job_id, stop, progress), daemon=True)
        beating.start()
        try:
            with holding(job_id, self.name, progress):
                result = self.handlers[kind](
                    self.store, self.settings, name, payload, self.resources
                )
        except Exception as exc:  # any failure of a job is the job's, not the worker's
            log.warning("job %s failed: %s", job_id, exc)
            with self.store.session() as session:
                error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
                if fail(session, job_id, self.name, error) is None:
                    log.warning(
                        "job %s was taken over meanwhile; its failure is not recorded", job_id
                    )
        else:
            with self.store.session() as session:
                if succeed(session, job_id, self.name, result) is None:
                    log.warning(
                        "job %s was taken over meanwhile; its result is not recorded", job_id
                    )
        finally:
            stop.set()
            beating.join()
        return True

    def run(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        """Run jobs until ``stop`` is set, a lane per job kind, polling for new ones when idle;
        a thread beside them sends webhook deliveries, so a long retrain does not hold its
        events back, and this thread announces the worker and queues what schedules make due."""
        from textloop.notifications.destinations import Destinations
        from textloop.notifications.webhooks import Deliverer

        deliverer = Deliverer(self.store, Destinations(self.settings.webhook_allowed_hosts))
        threading.Thread(target=deliverer.run, args=(stop,), name="webhooks", daemon=True).start()
        lanes = [
            threading.Thread(
                target=self._lane, args=(kind, stop, poll_seconds), name=f"jobs-{kind}", daemon=True
            )
            for kind in self.handlers
        ]
        for lane in lanes:
            lane.start()
        announced: float | None = None
        retries = RetryLog(log, f"worker {self.name} queueing due work")
        while not stop.is_set():
            try:
                with self.store.session() as session:
                    if announced is None or time.monotonic() - announced >= ANNOUNCE_SECONDS:
                        announce(session, self.name)  # `textloop retrain` says it is running
                        announced = time.monotonic()
                    fire_due_schedules(session)
                    enqueue_due_drift_checks(session)
            except Exception as exc:  # the database went away for a moment: wait, then go on
                retries.failed(exc)
            else:
                retries.succeeded()
            stop.wait(poll_seconds)
        for lane in lanes:
            lane.join()
        try:
            with self.store.session() as session:
                leave(session, self.name)
        except Exception:
            log.exception("worker %s could not record that it stopped", self.name)

    def _lane(self, kind: str, stop: threading.Event, poll_seconds: float) -> None:
        """The jobs of one kind, one at a time, until ``stop`` is set."""
        retries = RetryLog(log, f"worker {self.name} claiming a {kind} job")
        while not stop.is_set():
            try:
                ran = self.run_once((kind,))
            except Exception as exc:  # the database went away for a moment: wait, then go on
                retries.failed(exc)
            else:
                retries.succeeded()
                if ran:
                    continue
            stop.wait(poll_seconds)

    def _beat(self, job_id: int, stop: threading.Event, progress: Progress) -> None:
        """Renew the job's lease until ``stop``, or until the job stalls (``jobs.lease``): then
        it is let go, to be taken over once the lease runs out."""
        retries = RetryLog(log, f"heartbeat for job {job_id}")
        while not stop.wait(HEARTBEAT_SECONDS):
            if progress.stalled():
                log.warning(
                    "job %s made no progress for over %.0f s; its lease is no longer renewed",
                    job_id,
                    progress.allowed,
                )
                return
            try:
                with self.store.session() as session:
                    heartbeat(session, job_id, self.name)
            except Exception as exc:
                retries.failed(exc)
            else:
                retries.succeeded()
