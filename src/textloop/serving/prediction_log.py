"""Predictions (and the review tasks of unsure ones) stored off the response path.

Every answered prediction is queued here and a writer thread stores whatever has queued in one
transaction, so a busy server pays one commit for many requests instead of one each. Each entry
gets a sequence number when it is queued; the *watermark* is the highest number below which
every entry is stored. A request that reads predictions waits for the watermark to pass the
number taken when it arrived (``wait_stored``), or for the entries holding the predictions it
names (``wait_for``), never for the queue to empty, which under steady traffic it never does.

The queue is bounded in rows (``limit``): when the database falls behind, ``offer`` refuses
rather than letting the lag grow, and classify answers 503 with ``Retry-After``. Every queued
entry is also in a ``Journal`` until stored, so a killed server's successor stores them. A write
that fails for a while (the database busy or away) is retried until it succeeds; an entry the
database refuses outright (``rejected``) is kept aside in a file and counted, and never holds
up the rows queued behind it. The writer is a ``services.Service``: started by the runtime, or
by the first entry queued.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert

from textloop.errors import TextloopError
from textloop.retry_log import RetryLog
from textloop.serving.journal import Journal
from textloop.serving.rejected import RejectedRows, reason, refused
from textloop.serving.services import ServiceThread
from textloop.store.database import Store
from textloop.store.tables import Prediction, ReviewTask

log = logging.getLogger(__name__)
LIMIT = 20_000  # predictions waiting to be stored, past which classify answers 503
BATCH = 2_000  # predictions per transaction
GROUP_SECONDS = 0.05  # at most one commit this often: a commit's work is paid by many requests
RETRY_SECONDS = 0.5
WAIT_SECONDS = 10.0  # the longest a request waits for predictions to be stored


class StorageBehind(TextloopError):
    """The database stores predictions slower than they are answered (HTTP 503, Retry-After)."""

    code = "storage_behind"
    status_code = 503

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"Retry-After": "1"})  # a second's writes catch up


@dataclass
class Entry:
    predictions: list[dict[str, Any]]
    tasks: list[dict[str, Any]] = field(default_factory=list)
    after: Callable[[], None] | None = None  # run once stored (shadow scoring)
    seq: int = 0  # given when queued


@dataclass(frozen=True)
class Lag:
    """How far storage is behind: what an operator watches (``/readyz``, ``/metrics``)."""

    rows: int  # predictions answered and not stored yet
    limit: int
    oldest_seconds: float  # how long the oldest of them has waited; 0 when none waits

    @property
    def full(self) -> bool:
        return self.rows > 0 and self.rows >= self.limit


class PredictionLog:
    def __init__(
        self,
        store: Store,
        journal: Journal | None = None,
        limit: int = LIMIT,
        rejected: RejectedRows | None = None,
    ) -> None:
        self.store = store
        self.journal = journal
        self.limit = limit
        self.rejected = rejected
        self.stored = 0  # rows stored by this log: the writer's throughput, at a scrape
        self._queue: queue.SimpleQueue[Entry | None] = queue.SimpleQueue()
        self._written = threading.Condition()  # guards everything below; notified per batch
        self._seq = 0  # the last sequence number given
        self._waiting: OrderedDict[int, tuple[float, int]] = OrderedDict()  # seq → (since, rows)
        self._where: dict[str, int] = {}  # prediction id → seq, while not stored
        self._rows = 0
        self._hurry = threading.Event()  # someone waits: store without waiting for company
        self._thread = ServiceThread("prediction-log", self._run)

    def start(self) -> None:
        self._thread.start()

    def offer(self, entry: Entry) -> bool:
        """Queue ``entry`` unless the queue is at its limit (then False, nothing queued)."""
        return self.offer_all([entry])

    def offer_all(self, entries: Sequence[Entry]) -> bool:
        """Queue every one of ``entries`` (the answers of one request), or none if they do not
        fit under the limit. They find room in an empty queue whatever their size."""
        self.start()
        rows = sum(len(entry.predictions) for entry in entries)
        with self._written:
            if self._rows and self._rows + rows > self.limit:
                return False
            now = time.monotonic()
            for entry in entries:
                self._seq += 1
                entry.seq = self._seq
                self._waiting[entry.seq] = (now, len(entry.predictions))
                self._where.update((row["id"], entry.seq) for row in entry.predictions)
                self._queue.put(entry)
            self._rows += rows
        if self.journal is not None:  # before the answer; a line already stored is skipped later
            for entry in entries:
                self.journal.append(entry.predictions, entry.tasks, entry.seq)
        return True

    def mark(self) -> int:
        """The number of the last entry queued: everything acknowledged until now."""
        with self._written:
            return self._seq

    def wait_stored(self, through: int, timeout: float = WAIT_SECONDS) -> bool:
        """Wait until every entry up to ``through`` is stored; False if ``timeout`` ran out."""
        with self._written:
            if self._watermark() >= through:
                return True
            self._hurry.set()
            return self._written.wait_for(lambda: self._watermark() >= through, timeout)

    def wait_for(self, ids: Iterable[str], timeout: float = WAIT_SECONDS) -> bool:
        """Wait until the predictions ``ids`` are stored, if they are queued; the entries
        queued after theirs are not waited for."""
        with self._written:
            through = max((self._where.get(id_, 0) for id_ in ids), default=0)
        return self.wait_stored(through, timeout)

    def behind(self) -> StorageBehind:
        """The refusal of a request whose predictions were not stored within its wait."""
        lag = self.lag()
        return StorageBehind(
            f"the predictions this request reads are not stored yet ({lag.rows} waiting, the "
            f"oldest for {lag.oldest_seconds:.0f} s): the database is behind"
        )

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued so far is stored."""
        return self.wait_stored(self.mark(), timeout)

    def pending(self) -> bool:
        return bool(self._rows)

    def queued(self) -> int:
        return self._rows

    def lag(self) -> Lag:
        with self._written:
            oldest = next(iter(self._waiting.values()), None)
            waited = time.monotonic() - oldest[0] if oldest is not None else 0.0
            return Lag(self._rows, self.limit, waited)

    def close(self) -> None:
        """Store everything queued, then stop; the journal stays if anything is left in it."""
        self._thread.stop(self._finish, timeout=60)
        with self._written:
            if self.journal is not None and not self._rows:
                self.journal.close()

    def _watermark(self) -> int:
        first = next(iter(self._waiting), None)
        return self._seq if first is None else first - 1

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
        self._settle(batch)

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
        self._settle([entry])

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

    def _settle(self, batch: list[Entry]) -> None:
        """Run the entries' follow-ups, then stop counting them as waiting: a wait that returns
        has seen the follow-ups (shadow scoring) queued."""
        for entry in batch:
            if entry.after is not None:
                try:
                    entry.after()
                except Exception:
                    log.exception("after storing predictions %s", _ids(entry))
        with self._written:
            for entry in batch:
                _, rows = self._waiting.pop(entry.seq)
                self._rows -= rows
                for row in entry.predictions:
                    self._where.pop(row["id"], None)
            if self.journal is not None:
                try:
                    self.journal.stored_through(self._watermark())
                except OSError as exc:  # a journal file left behind is replayed, never lost
                    log.error("could not drop the stored part of the journal: %s", exc)
            self._written.notify_all()


def _ids(entry: Entry) -> str:
    return ", ".join(row["id"] for row in entry.predictions[:5])
