"""Keeps what the server remembers (keys, deployments) fresh, off the request path.

Every ``INTERVAL`` seconds a thread calls each refresh; a failing one is tried again at the next
tick (logged one line per failing streak, see ``retry_log``), and meanwhile its entries age out
and requests look them up themselves.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from textloop.retry_log import RetryLog

log = logging.getLogger("textloop.refresher")
INTERVAL = 0.5


class Refresher:
    def __init__(self, refreshes: Sequence[Callable[[], None]], interval: float = INTERVAL):
        self.refreshes = list(refreshes)
        self._logs = [
            RetryLog(log, f"refreshing {getattr(refresh, '__qualname__', 'cache')}")
            for refresh in self.refreshes
        ]
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="refresher", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for refresh, retries in zip(self.refreshes, self._logs, strict=True):
                try:
                    refresh()
                except Exception as exc:
                    retries.failed(exc)
                else:
                    retries.succeeded()
