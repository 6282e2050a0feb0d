"""How a background loop that retries (key refresh, job claims, webhook delivery) reports failure.

A database that is locked or away for a while makes such a loop fail on every tick; a traceback
per tick buries everything else in the log. ``RetryLog`` writes one line when a loop starts
failing (the exception's type and message), a reminder line at most every ``REMIND`` while it
keeps failing, and one line when it works again. The traceback goes to DEBUG, for whoever needs it.
"""

from __future__ import annotations

import logging
import threading
import time

REMIND = 60.0


class RetryLog:
    def __init__(self, log: logging.Logger, what: str, remind: float = REMIND) -> None:
        self.log = log
        self.what = what
        self.remind = remind
        self._failures = 0
        self._last_line = 0.0
        self._lock = threading.Lock()

    def failed(self, exc: BaseException) -> None:
        """Record one failed try; logs a line only when the streak starts or a reminder is due."""
        with self._lock:
            self._failures += 1
            now = time.monotonic()
            due = self._failures == 1 or now - self._last_line >= self.remind
            if due:
                self._last_line = now
            failures = self._failures
        if due:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            self.log.warning(
                "%s failed (%d %s so far), retrying: %s%s",
                self.what,
                failures,
                "try" if failures == 1 else "tries",
                type(exc).__name__,
                f": {reason}" if reason else "",
            )
        self.log.debug("%s failed", self.what, exc_info=exc)

    def succeeded(self) -> None:
        """Record a successful try; logs a line if it ends a failing streak."""
        with self._lock:
            failures, self._failures = self._failures, 0
        if failures:
            self.log.warning("%s works again after %d failed tries", self.what, failures)
