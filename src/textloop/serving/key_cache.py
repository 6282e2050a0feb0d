"""API keys answered from memory, re-checked in the background twice a second.

A request with a known key asks the database nothing: ``refresh`` (run by the runtime's
``Refresher``) re-reads every remembered key in one query, and forgets those revoked, expired or
whose portal account was disabled, so a revocation made anywhere takes effect in every server
process within a second. An expiry needs no refresh: a remembered key stops being answered at
that moment. Should refreshing stall, entries older than ``MAX_AGE`` are looked up again by
the request itself. A key that fails is never remembered; keys are held by their hash.

Each use is noted in memory, and ``refresh`` writes the keys used since the previous one to the
database in one UPDATE (``last_used_at``, to within a refresh), never a write per request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from textloop.security.api_keys import (
    Principal,
    authenticate,
    hash_key,
    record_use,
    valid_keys,
)
from textloop.store.database import Store
from textloop.store.tables import utcnow

MAX_AGE = 1.0  # seconds an entry is trusted since it was last read from the database
IDLE = 600.0  # entries unused this long are dropped rather than refreshed


class KeyCache:
    """``clock`` is the wall clock that expiry and last use are judged by (tests move it)."""

    def __init__(
        self, store: Store, max_age: float = MAX_AGE, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.store = store
        self.max_age = max_age
        self.clock = clock
        self._entries: dict[str, tuple[float, Principal]] = {}  # hash → (read at, principal)
        self._used: dict[str, float] = {}
        self._unrecorded: set[int] = set()  # ids of keys used since the last refresh
        self._lock = threading.Lock()

    def cached(self, presented: str | None) -> Principal | None:
        """The principal of a key read from the database less than ``max_age`` ago, unless it
        has expired since."""
        if not presented:
            return None
        digest = hash_key(presented)
        entry = self._entries.get(digest)
        if entry is None or time.monotonic() - entry[0] >= self.max_age:
            return None
        principal = entry[1]
        if principal.expires_at is not None and principal.expired(self.clock()):
            return None
        self._used[digest] = time.monotonic()
        self._unrecorded.add(principal.key_id)
        return principal

    def authenticate(self, presented: str | None) -> Principal:
        """Look the key up in the database (raising ``AuthError``) and remember it."""
        with self.store.session() as session:
            principal = authenticate(session, presented, self.clock())
        assert presented is not None
        digest, now = hash_key(presented), time.monotonic()
        with self._lock:
            self._entries[digest] = (now, principal)
            self._used[digest] = now
        self._unrecorded.add(principal.key_id)
        return principal

    def refresh(self) -> None:
        now = time.monotonic()
        used = list(self._unrecorded)  # one step under the GIL: no use is lost meanwhile
        self._unrecorded.difference_update(used)
        with self._lock:
            hashes = [h for h in self._entries if now - self._used.get(h, 0) < IDLE]
        if not hashes and not used:
            self.forget()
            return
        try:
            with self.store.session() as session:
                record_use(session, used, self.clock())
                valid = valid_keys(session, hashes, self.clock()) if hashes else {}
        except Exception:
            self._unrecorded.update(used)  # written at the next refresh that succeeds
            raise
        with self._lock:
            self._entries = {digest: (now, principal) for digest, principal in valid.items()}
            self._used = {h: t for h, t in self._used.items() if h in self._entries}

    def forget(self) -> None:
        """Drop the remembered keys (their use is still recorded at the next refresh)."""
        with self._lock:
            self._entries.clear()
            self._used.clear()
