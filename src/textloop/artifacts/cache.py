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
        if _touch(final):
            return final
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{digest[:16]}.{uuid.uuid4().hex}.partial"
        try:
            partial.mkdir()
            fill(partial)
            if content_hash(partial) != digest:
                raise HashMismatch(digest)
            try:
                partial.rename(final)
            except OSError:
                if not final.is_dir():
                    raise
                # another thread or process put the same copy there first
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        _touch(final)
        self._evict(keep=final)
        return final

    def size(self) -> int:
        return sum(_bytes(entry) for _, entry in self._entries())

    def _entries(self) -> list[tuple[float, Path]]:
        """Each copy with the time it was last used (copies removed meanwhile left out)."""
        if not self.folder.is_dir():
            return []
        entries = []
        for path in self.folder.iterdir():
            if path.name.startswith("."):
                continue
            with contextlib.suppress(FileNotFoundError):
                entries.append((path.stat().st_mtime, path))
        return entries

    def _evict(self, keep: Path) -> None:
        with self._lock:
            entries = [path for _, path in sorted(self._entries())]
            sizes = {entry: _bytes(entry) for entry in entries}
            total = sum(sizes.values())
            for entry in entries:
                if total <= self.max_bytes:
                    break
                if entry == keep:
                    continue
                # out of sight at once (a rename), then removed: never seen half-deleted
                doomed = entry.with_name(f".{entry.name}.{uuid.uuid4().hex}.evicted")
                with contextlib.suppress(FileNotFoundError):
                    entry.rename(doomed)
                    shutil.rmtree(doomed, ignore_errors=True)
                total -= sizes[entry]


def _touch(folder: Path) -> bool:
    """Mark the copy used now; False when there is none."""
    now = time.time()
    try:
        os.utime(folder, (now, now))
    except FileNotFoundError:
        return False
    return folder.is_dir()


def _bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        with contextlib.suppress(FileNotFoundError):
            total += path.stat().st_size if path.is_file() else 0
    return total
