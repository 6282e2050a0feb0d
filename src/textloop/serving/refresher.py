"""Keeps what the server remembers (keys, deployments) fresh, off the request path.

Every ``INTERVAL`` seconds a thread calls each refresh; a failing one is logged and tried again
at the next tick, and meanwhile its entries age out and requests look them up themselves.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

log = logging.getLogger("textloop.refresher")
INTERVAL = 0.5


class Refresher:
    def __init__(self, refreshes: Sequence[Callable[[], None]], interval: float = INTERVAL):
        self.refreshes = list(refreshes)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="refresher", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for refresh in self.refreshes:
                try:
                    refresh()
                except Exception:
                    log.exception("refreshing %s failed", getattr(refresh, "__qualname__", ""))
