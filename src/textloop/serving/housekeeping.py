"""What a server leaves behind and removes itself: idempotency keys past their keeping time and
upload files that a server killed mid-upload never deleted.

Every server process sweeps, at most once per ``EVERY`` seconds, on the refresher's thread;
sweeps by several processes at once delete the same rows and files, which is harmless. An
upload file is removed only once nothing has written to it for ``ABANDONED_AFTER`` (an upload
in progress writes as its bytes arrive), the same time after which its idempotency claim may be
taken over.
"""

from __future__ import annotations

import logging
import time
from contextlib import suppress
from pathlib import Path

from textloop.serving import idempotency
from textloop.serving.uploads import PREFIX
from textloop.store.database import Store

EVERY = 600.0
log = logging.getLogger(__name__)


class Housekeeping:
    def __init__(self, store: Store, uploads: Path, every: float = EVERY) -> None:
        self.store = store
        self.uploads = uploads
        self.every = every
        self._swept_at: float | None = None

    def sweep(self) -> None:
        """Sweep, unless this process did less than ``every`` seconds ago."""
        now = time.monotonic()
        if self._swept_at is not None and now - self._swept_at < self.every:
            return
        self._swept_at = now
        keys = idempotency.forget_old(self.store)
        files = remove_stale_uploads(self.uploads, idempotency.ABANDONED_AFTER.total_seconds())
        if keys or files:
            log.info("forgot %d idempotency keys and removed %d stale upload files", keys, files)


def remove_stale_uploads(directory: Path, older_than: float) -> int:
    """Remove the upload files nothing has written to for ``older_than`` seconds; how many."""
    cutoff = time.time() - older_than
    removed = 0
    for path in directory.glob(f"{PREFIX}*"):
        with suppress(FileNotFoundError):  # removed meanwhile, by its request or another sweep
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed
