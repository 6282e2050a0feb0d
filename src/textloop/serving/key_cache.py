"""API keys answered from memory (``refreshing.RefreshingCache``), re-checked in the background.

A request with a known key asks the database nothing: ``refresh`` (run by the runtime's
``Refresher``) re-reads every remembered key in one query, and forgets those revoked, expired or
whose portal account was disabled, so a revocation made anywhere takes effect in every server
process within a second. An expiry needs no refresh: a remembered key stops being answered at
that moment. A key unused for ``IDLE`` is dropped rather than refreshed. A key that fails is
never remembered; keys are held by their hash.

Each use is noted in memory, and ``refresh`` writes the keys used since the previous one to the
database in the same transaction (``last_used_at``, to within a refresh), never a write per
request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime

from textloop.security.api_keys import (
    Principal,
    authenticate,
    hash_key,
    record_use,
    valid_keys,
)
from textloop.serving.refreshing import MAX_AGE, RefreshingCache
from textloop.store.database import Store
from textloop.store.tables import utcnow

IDLE = 600.0  # entries unused this long are dropped rather than refreshed


class KeyCache:
    """``clock`` is the wall clock that expiry and last use are judged by (tests move it)."""

    def __init__(
        self, store: Store, max_age: float = MAX_AGE, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.store = store
        self.clock = clock
        self._principals = RefreshingCache[str, Principal](max_age)  # by the key's hash
        self._used: dict[str, float] = {}  # hash → when last presented
        self._unrecorded: set[int] = set()  # ids of keys used since the last refresh

    def cached(self, presented: str | None) -> Principal | None:
        """The principal of a key read from the database less than ``max_age`` ago, unless it
        has expired since."""
        if not presented:
            return None
        digest = hash_key(presented)
        principal = self._principals.cached(digest)
        if principal is None:
            return None
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
        digest = hash_key(presented)
        self._principals.remember(digest, principal)
        self._used[digest] = time.monotonic()
        self._unrecorded.add(principal.key_id)
        return principal

    def refresh(self) -> None:
        now = time.monotonic()
        used = list(self._unrecorded)  # one step under the GIL: no use is lost meanwhile
        self._unrecorded.difference_update(used)
        last_used = dict(self._used)
        hashes = [h for h in self._principals.remembered() if now - last_used.get(h, 0) < IDLE]
        if not hashes and not used:
            self.forget()
            return

        def reread(hashes: Sequence[str]) -> dict[str, Principal]:
            with self.store.session() as session:
                record_use(session, used, self.clock())
                return valid_keys(session, list(hashes), self.clock()) if hashes else {}

        try:
            self._principals.refresh(reread, hashes)  # idle entries, not re-read, are dropped
        except Exception:
            self._unrecorded.update(used)  # written at the next refresh that succeeds
            raise
        kept = set(self._principals.remembered())
        self._used = {h: t for h, t in list(self._used.items()) if h in kept}

    def forget(self) -> None:
        """Drop the remembered keys (their use is still recorded at the next refresh)."""
        self._principals.forget()
        self._used = {}
