"""What the server remembers from the database instead of asking per request (API keys,
deployments), and the thread that keeps it fresh off the request path.

    request ─► cached(key): read less than MAX_AGE ago? ─► the answer, no database
                               └─ no ─► the request looks it up and remembers it
    Refresher, every INTERVAL ─► refresh(): every remembered entry read again at once

A busy server would otherwise pay a database round trip thousands of times a second for the
same answer. The ``Refresher`` re-reads every remembered entry twice a second, so a change made
elsewhere (a worker, another server) is seen within a second, and one made through this server
by its next request (``consistency`` calls ``forget``). Should refreshing stall, entries age out
after ``MAX_AGE`` and requests look them up themselves; a failing refresh is tried again at the
next tick (logged one line per failing streak, see ``retry_log``).

Invariants: an entry is answered only while younger than ``max_age``; a refresh replaces the
entries it re-read and drops those it no longer finds, but keeps an entry a request remembered
while it ran, and installs nothing when ``forget`` ran meanwhile (what it read may be older than
the change that was forgotten for).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeVar

from textloop.retry_log import RetryLog
from textloop.serving.services import ServiceThread

K = TypeVar("K")
V = TypeVar("V")
MAX_AGE = 1.0  # seconds an entry is trusted since it was last read from the database
INTERVAL = 0.5  # seconds between refreshes
log = logging.getLogger(__name__)


class RefreshingCache(Generic[K, V]):
    def __init__(self, max_age: float = MAX_AGE) -> None:
        self.max_age = max_age
        self._entries: dict[K, tuple[float, V]] = {}  # key → (read at, value)
        self._forgotten = 0  # how many times ``forget`` ran: a refresh in between installs nothing
        self._lock = threading.Lock()

    def cached(self, key: K) -> V | None:
        """The value read less than ``max_age`` ago, or None."""
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] >= self.max_age:
            return None
        return entry[1]

    def last(self, key: K) -> V | None:
        """The value last read, however long ago."""
        entry = self._entries.get(key)
        return None if entry is None else entry[1]

    def remember(self, key: K, value: V) -> None:
        """A value just read from the database (by a request)."""
        with self._lock:
            self._entries[key] = (time.monotonic(), value)

    def remembered(self) -> list[K]:
        with self._lock:
            return list(self._entries)

    def refresh(self, reread: Callable[[Sequence[K]], Mapping[K, V]], keys: Sequence[K]) -> None:
        """Read ``keys`` again with ``reread`` (one database round trip for all, off the request
        path) and keep exactly what it returns, besides entries remembered meanwhile."""
        with self._lock:
            forgotten = self._forgotten
        read_at = time.monotonic()
        fresh = reread(keys)
        with self._lock:
            if self._forgotten != forgotten:
                return
            newer = {key: entry for key, entry in self._entries.items() if entry[0] > read_at}
            self._entries = {key: (read_at, value) for key, value in fresh.items()} | newer

    def forget(self) -> None:
        with self._lock:
            self._entries = {}
            self._forgotten += 1


class Refresher:
    """Calls each ``refreshes`` every ``interval`` seconds on a thread of its own (a
    ``services.Service``)."""

    def __init__(self, refreshes: Sequence[Callable[[], None]], interval: float = INTERVAL):
        self.refreshes = list(refreshes)
        self._logs = [
            RetryLog(log, f"refreshing {getattr(refresh, '__qualname__', 'cache')}")
            for refresh in self.refreshes
        ]
        self.interval = interval
        self._stop = threading.Event()
        self._thread = ServiceThread("refresher", self._run)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._thread.stop(self._stop.set, timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for refresh, retries in zip(self.refreshes, self._logs, strict=True):
                try:
                    refresh()
                except Exception as exc:
                    retries.failed(exc)
                else:
                    retries.succeeded()
