"""A prediction writer held at a gate: storage exactly as slow as a test wants it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from textloop.serving.prediction_log import PredictionLog
from textloop.store import Store


class HeldWrites:
    """Stands in for the log's store: each transaction waits until the gate is open, then runs
    on the real database, as a database too busy to take the writes would make it wait."""

    def __init__(self, log: PredictionLog) -> None:
        self.store: Store = log.store
        self._open = threading.Event()
        self._open.set()
        log.store = self  # type: ignore[assignment]

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    @contextmanager
    def session(self) -> Iterator[Session]:
        self._open.wait()
        with self.store.session() as session:
            yield session
