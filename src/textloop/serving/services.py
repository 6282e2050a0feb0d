"""The server's background threads, started and stopped one way.

A ``Service`` owns one daemon thread (the prediction log's writer, shadow scoring, the cache
refresher; the batcher's model thread in ``predict``). Building one starts nothing; ``start``
starts its thread, once, and never again after ``close``; ``close`` finishes what the service
promises to finish (the prediction log stores what is queued), stops the thread and waits for
it, and does nothing to a service never started. ``Runtime`` starts its services in order when
it opens and closes them in the reverse order, so that each closes before the services it hands
work to. A service used on its own (tests, the CLI) starts on the first call that gives it work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol


class Service(Protocol):
    def start(self) -> None: ...

    def close(self) -> None: ...


class ServiceThread:
    """The one thread of a service: ``run`` on a daemon thread named ``name``."""

    def __init__(self, name: str, run: Callable[[], None]) -> None:
        self.name = name
        self._run = run
        self._thread: threading.Thread | None = None
        self._closed = False
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._thread is not None or self._closed:  # the common case: no lock taken
            return
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def stop(self, wake: Callable[[], None], timeout: float) -> None:
        """Closed for good: a running thread is told to finish (``wake``) and waited for."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            wake()
            thread.join(timeout)
