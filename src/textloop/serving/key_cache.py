"""API keys answered from memory, re-checked in the background twice a second.

A request with a known key asks the database nothing: ``refresh`` (run by the runtime's
``Refresher``) re-reads every remembered key in one query, and forgets those revoked or whose
portal account was disabled, so a revocation made anywhere takes effect in every server process
within a second. Should refreshing stall, entries older than ``MAX_AGE`` are looked up again by
the request itself. A key that fails is never remembered; keys are held by their hash.
"""

from __future__ import annotations

import threading
import time

from textloop.security.api_keys import Principal, authenticate, hash_key, valid_keys
from textloop.store.database import Store

MAX_AGE = 1.0  # seconds an entry is trusted since it was last read from the database
IDLE = 600.0  # entries unused this long are dropped rather than refreshed


class KeyCache:
    def __init__(self, store: Store, max_age: float = MAX_AGE) -> None:
        self.store = store
        self.max_age = max_age
        self._entries: dict[str, tuple[float, Principal]] = {}  # hash → (read at, principal)
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    def cached(self, presented: str | None) -> Principal | None:
        """The principal of a key read from the database less than ``max_age`` ago."""
        if not presented:
            return None
        digest = hash_key(presented)
        entry = self._entries.get(digest)
        if entry is None or time.monotonic() - entry[0] >= self.max_age:
            return None
        self._used[digest] = time.monotonic()
        return entry[1]

    def authenticate(self, presented: str | None) -> Principal:
        """Look the key up in the database (raising ``AuthError``) and remember it."""
        with self.store.session() as session:
            principal = authenticate(session, presented)
        assert presented is not None
        digest, now = hash_key(presented), time.monotonic()
        with self._lock:
            self._entries[digest] = (now, principal)
            self._used[digest] = now
        return principal

    def refresh(self) -> None:
        now = time.monotonic()
        with self._lock:
            hashes = [h for h in self._entries if now - self._used.get(h, 0) < IDLE]
        if not hashes:
            self.forget()
            return
        with self.store.session() as session:
            valid = valid_keys(session, hashes)
        with self._lock:
            self._entries = {digest: (now, principal) for digest, principal in valid.items()}
            self._used = {h: t for h, t in self._used.items() if h in self._entries}

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()
            self._used.clear()
