"""Which model answers for a classifier, remembered for a second instead of asked per request.

A request needs the classifier's production model (and its shadow, if any); looking them up
costs a database round trip that a busy server would pay thousands of times a second for the
same answer. The runtime's ``Refresher`` re-reads every remembered deployment twice a second, so
a change made elsewhere (a worker, another server) is seen within a second, and one made
through this server by its next request (``consistency``).
"""

from __future__ import annotations

import threading
import time

from textloop.errors import TextloopError
from textloop.predict.deployment import Deployment, find_deployment
from textloop.store.database import Store

MAX_AGE = 1.0  # seconds an entry is trusted since it was last read


class DeploymentCache:
    def __init__(self, store: Store, max_age: float = MAX_AGE) -> None:
        self.store = store
        self.max_age = max_age
        self._entries: dict[str, tuple[float, Deployment]] = {}
        self._lock = threading.Lock()

    def cached(self, name: str) -> Deployment | None:
        entry = self._entries.get(name)
        if entry is None or time.monotonic() - entry[0] >= self.max_age:
            return None
        return entry[1]

    def resolve(self, name: str) -> Deployment:
        """Look the deployment up (``NotFound`` without a production model) and remember it."""
        with self.store.session() as session:
            deployment = find_deployment(session, name)
        with self._lock:
            self._entries[name] = (time.monotonic(), deployment)
        return deployment

    def refresh(self) -> None:
        """Re-read every remembered deployment; one whose classifier or production model is
        gone is forgotten (its next request looks it up, and gets the error)."""
        for name in list(self._entries):
            try:
                self.resolve(name)
            except TextloopError:
                with self._lock:
                    self._entries.pop(name, None)

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()
