"""Whether this server should be sent traffic: what ``GET /readyz`` tells a load balancer.

Ready means: the production models were loaded (the lifespan loads them before the first request is
accepted), the database answered within the last ``STALE`` seconds, its schema is the one this code
migrates to (a replica of another release beside the schema says so instead of failing requests),
and the prediction queue is not full (a full one refuses classify with 503 until the database
catches up; ``/readyz`` shows the lag either way). The database is asked on the refresher's thread
twice a second, never on the probe's request, so a probe is answered at once even while the database
hangs: a check that has not succeeded for ``STALE`` seconds counts as failed, and one that succeeds
again makes the server ready again within a refresh. Liveness (``/healthz``) asks nothing of the
database: a server that cannot reach it is alive, and restarting it would not help.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text

from textloop.serving.prediction_log import Lag
from textloop.store.database import Store

STALE = 1.0  # seconds without a successful check before the server is not ready


@dataclass(frozen=True)
class Verdict:
    ready: bool
    reason: str | None = None  # why not, in a line
    lag: Lag | None = None  # the prediction queue's, when there is one


class Readiness:
    def __init__(
        self,
        store: Store,
        head: str,
        stale: float = STALE,
        lag: Callable[[], Lag] | None = None,
    ) -> None:
        self.store = store
        self.head = head  # the schema revision this code migrates to
        self.stale = stale
        self.lag = lag
        self._lock = threading.Lock()
        self._loaded = False
        self._checked_at: float | None = None  # monotonic time of the last successful check
        self._problem: str | None = "not checked yet"

    def models_loaded(self) -> None:
        with self._lock:
            self._loaded = True

    def check(self) -> None:
        """Ask the database for its schema revision (the refresher calls this); a failure is
        recorded, then raised for the refresher to log."""
        try:
            with self.store.session() as session:
                revision = session.scalar(text("SELECT version_num FROM alembic_version"))
        except Exception as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self._record(f"the database is unreachable: {reason}")
            raise
        if revision != self.head:
            self._record(f"the database schema is at {revision}; this server needs {self.head}")
            return
        self._record(None)

    def verdict(self) -> Verdict:
        with self._lock:
            loaded, checked_at, problem = self._loaded, self._checked_at, self._problem
        lag = self.lag() if self.lag is not None else None
        if not loaded:
            return Verdict(False, "the production models are still loading", lag)
        if problem is not None:
            return Verdict(False, problem, lag)
        if checked_at is None or time.monotonic() - checked_at > self.stale:
            return Verdict(False, f"the database has not answered for over {self.stale:g} s", lag)
        if lag is not None and lag.full:
            reason = (
                f"{lag.rows} predictions are waiting to be stored (the limit), the oldest for "
                f"{lag.oldest_seconds:.1f} s: the database is behind"
            )
            return Verdict(False, reason, lag)
        return Verdict(True, lag=lag)

    def _record(self, problem: str | None) -> None:
        with self._lock:
            self._problem = problem
            if problem is None:
                self._checked_at = time.monotonic()
