"""This host's copies of remote artifacts, one folder per content hash, bounded in bytes.

A copy is filled into a hidden folder, checked against the hash it is filed under and renamed
into place, so a folder under its hash is always whole and right; it is never changed after.
Using a copy marks it recent; when the total passes the bound, the least recently used copies
are removed (never the one just used). A model loads its files into memory, so removing the
copy of a loaded model does not disturb it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from textloop.artifacts.manifest import content_hash


class HashMismatch(Exception):
    """The files read do not have the hash their manifest names (overwritten while read)."""


class ContentCache:
    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    def get(self, digest: str, fill: Callable[[Path], None]) -> Path:
        """The folder of ``digest``, made by ``fill`` (which writes the files into the folder it
        is given) when this host has no copy yet."""
        final = self.folder / digest
        if final.is_dir():
            _touch(final)
            return final
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{digest[:16]}.{uuid.uuid4().hex}.partial"
        try:
            partial.mkdir()
            fill(partial)
            if content_hash(partial) != digest:
                raise HashMismatch(digest)
            # an OSError: another thread or process put the same copy there first
            with contextlib.suppress(OSError):
                partial.rename(final)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        _touch(final)
        self._evict(keep=final)
        return final

    def size(self) -> int:
        return sum(_bytes(entry) for entry in self._entries())

    def _entries(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return [p for p in self.folder.iterdir() if p.is_dir() and not p.name.startswith(".")]

    def _evict(self, keep: Path) -> None:
        with self._lock:
            entries = sorted(self._entries(), key=lambda p: p.stat().st_mtime)
            sizes = {entry: _bytes(entry) for entry in entries}
            total = sum(sizes.values())
            for entry in entries:
                if total <= self.max_bytes:
                    break
                if entry == keep:
                    continue
                shutil.rmtree(entry, ignore_errors=True)
                total -= sizes[entry]


def _touch(folder: Path) -> None:
    now = time.time()
    os.utime(folder, (now, now))


def _bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
