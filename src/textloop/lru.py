"""The one least-recently-used cache of the process: loaded models (``predict.model_cache``),
embeddings by text (``models.encoders``) and drift references (``monitoring.drift``).

An ``LRU`` holds at most ``capacity`` entries (0 keeps none) and forgets the one used longest ago
when it would hold more. It is safe to share between threads: every call holds one lock for its
whole length, so a batch read or write (``get_many``, ``put_many``) sees and leaves a consistent
cache. Nothing slow runs under that lock: callers load or compute a missing value outside it and
``put`` the result, so two threads missing one key at once may both compute it (a caller that
must not, like the model cache, serialises its own loads).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is held; asking does not count as a use."""
        with self._lock:
            return key in self._items

    def values(self) -> list[V]:
        """A snapshot of the values held, the least recently used first; not a use."""
        with self._lock:
            return list(self._items.values())

    def get(self, key: K) -> V | None:
        """The value of ``key``, now the most recently used; None when it is not held."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The values of those ``keys`` that are held, each now recently used."""
        found: dict[K, V] = {}
        with self._lock:
            for key in keys:
                if key in self._items:
                    self._items.move_to_end(key)
                    found[key] = self._items[key]
        return found

    def put(self, key: K, value: V) -> None:
        self.put_many(((key, value),))

    def put_many(self, items: Iterable[tuple[K, V]]) -> None:
        """Hold every item as the most recently used, then forget the oldest over capacity."""
        with self._lock:
            for key, value in items:
                self._items[key] = value
                self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
