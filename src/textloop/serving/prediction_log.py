"""Predictions (and the review tasks of unsure ones) stored off the response path.

Every answered prediction is queued here and a writer thread stores whatever has queued in one
transaction, so a busy server pays one commit for many requests instead of one each. The queue is
bounded: when the database falls behind, requests wait for room rather than predictions being
dropped, and every queued entry is also in a ``Journal`` file until stored, so a killed server's
successor stores them. A request that may read them waits for ``flush`` first (``consistency``);
closing the server stores everything queued first. A write that fails for a while (the database
busy or away) is retried until it succeeds; an entry the database refuses outright (``rejected``)
is kept aside in a file and counted, and never holds up the rows queued behind it. The writer
is a ``services.Service``: started by the runtime, or by the first entry queued.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert

from textloop.retry_log import RetryLog
from textloop.serving.journal import Journal
from textloop.serving.rejected import RejectedRows, reason, refused
from textloop.serving.services import ServiceThread
from textloop.store.database import Store
from textloop.store.tables import Prediction, ReviewTask

log = logging.getLogger("textloop.predictions")
CAPACITY = 20_000  # predictions waiting to be stored
BATCH = 2_000  # predictions per transaction
GROUP_SECONDS = 0.05  # at most one commit this often: a commit's work is paid by many requests
RETRY_SECONDS = 0.5


@dataclass
class Entry:
    predictions: list[dict[str, Any]]
    tasks: list[dict[str, Any]] = field(default_factory=list)
    after: Callable[[], None] | None = None  # run once stored (shadow scoring)


class PredictionLog:
    def __init__(
        self,
        store: Store,
        journal: Journal | None = None,
        capacity: int = CAPACITY,
        rejected: RejectedRows | None = None,
    ) -> None:
        self.store = store
        self.journal = journal
        self.rejected = rejected
        self.stored = 0
        self._queue: queue.Queue[Entry | None] = queue.Queue(maxsize=capacity)
        self._pending: set[str] = set()
        self._written = threading.Condition()
        self._hurry = threading.Event()  # someone waits: store without waiting for company
        self._thread = ServiceThread("prediction-log", self._run)

    def start(self) -> None:
        self._thread.start()

    def offer(self, entry: Entry) -> bool:
        """Queue ``entry`` if there is room at once; False (and nothing queued) if not."""
        return self._enqueue(entry, block=False)

    def put(self, entry: Entry) -> None:
        """Queue ``entry``, waiting for room while the queue is full."""
        self._enqueue(entry, block=True)

    def _enqueue(self, entry: Entry, block: bool) -> bool:
        self.start()
        ids = [row["id"] for row in entry.predictions]
        with self._written:
            self._pending.update(ids)
        try:
            self._queue.put(entry, block=block)
        except queue.Full:
            with self._written:
                self._pending.difference_update(ids)
            return False
        if self.journal is not None:  # after queueing: a line already stored is skipped later
            self.journal.append(entry.predictions, entry.tasks)
        return True

    def pending(self) -> bool:
        return bool(self._pending)

    def queued(self) -> int:
        return len(self._pending)

    def flush(self, timeout: float = 30.0) -> None:
        self._hurry.set()
        with self._written:
            self._written.wait_for(lambda: not self._pending, timeout)

    def close(self) -> None:
        """Store everything queued, then stop."""
        self._thread.stop(self._finish, timeout=60)
        if self.journal is not None and not self._pending:
            self.journal.close()

    def _finish(self) -> None:
        self._hurry.set()
        self._queue.put(None)

    def _run(self) -> None:
        stopping, last = False, 0.0
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            if self._hurry.wait(max(0.0, last + GROUP_SECONDS - time.monotonic())):
                self._hurry.clear()
            batch, size = [first], len(first.predictions)
            while size < BATCH:
                try:
                    entry = self._queue.get_nowait()
                except queue.Empty:
                    break
                if entry is None:
                    stopping = True
                    break
                batch.append(entry)
                size += len(entry.predictions)
            self._store(batch)
            last = time.monotonic()

    def _store(self, batch: list[Entry]) -> None:
        """The batch in one transaction. A refused row: entry by entry, so that only the entry
        holding it is kept aside. The database busy or away: the batch again, until it works."""
        retries = RetryLog(log, f"storing {len(batch)} queued prediction entries")
        while True:
            try:
                self._insert(batch)
            except Exception as exc:
                if refused(exc):
                    for entry in batch:
                        self._store_alone(entry)
                    return
                retries.failed(exc)
                time.sleep(RETRY_SECONDS)
                continue
            retries.succeeded()
            break
        for entry in batch:
            self._settle(entry)

    def _store_alone(self, entry: Entry) -> None:
        retries = RetryLog(log, f"storing prediction(s) {_ids(entry)}")
        while True:
            try:
                self._insert([entry])
                break
            except Exception as exc:
                if refused(exc):
                    self._reject(entry, exc)
                    break
                retries.failed(exc)
                time.sleep(RETRY_SECONDS)
        self._settle(entry)

    def _reject(self, entry: Entry, exc: Exception) -> None:
        if self.rejected is not None:
            try:
                self.rejected.keep(entry.predictions, entry.tasks, reason(exc))
                return
            except OSError as unwritable:  # a full disk must not stop the writer thread
                log.error("could not keep refused prediction(s) aside: %s", unwritable)
        log.error("the database refused prediction(s) %s: %s", _ids(entry), reason(exc))

    def _insert(self, batch: list[Entry]) -> None:
        predictions = [row for entry in batch for row in entry.predictions]
        tasks = [row for entry in batch for row in entry.tasks]
        with self.store.session() as session:
            session.execute(insert(Prediction), predictions)
            if tasks:
                session.execute(insert(ReviewTask), tasks)
        self.stored += len(predictions)

    def _settle(self, entry: Entry) -> None:
        """Run the entry's follow-up, then stop counting it as pending: a ``flush`` that
        returns has seen the follow-ups (shadow scoring) queued."""
        if entry.after is not None:
            try:
                entry.after()
            except Exception:
                log.exception("after storing predictions %s", _ids(entry))
        with self._written:
            self._pending.difference_update(row["id"] for row in entry.predictions)
            if not self._pending and self.journal is not None:
                self.journal.clear()
            self._written.notify_all()


def _ids(entry: Entry) -> str:
    return ", ".join(row["id"] for row in entry.predictions[:5])
