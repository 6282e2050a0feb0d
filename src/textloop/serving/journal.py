"""Files of the predictions a server answered but has not stored yet, so a killed one loses none.

Each answered entry is appended as one JSON line, with its sequence number, before the answer is
sent. The lines go to segments of ``SEGMENT_BYTES``: a full segment is closed and a new one
opened, and a segment is deleted (the open one emptied) once the prediction log's watermark has
passed every entry in it, so the files hold about what is queued even when the queue never
empties. They are not synced to disk: they survive the process being killed (SIGKILL, out of
memory), which is what happens to servers, not a power cut. A server that starts stores what
dead ones left behind (``recover``), skipping rows already stored; a file is claimed by renaming
it, so two processes starting at once never both replay one. A file's name says which process
holds it, by pid and start time (``process_id``): a restarted container's server, which often
gets its dead predecessor's pid, still recovers its predecessor's files.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from textloop.serving.rejected import RejectedRows, reason, refused
from textloop.store.database import Store
from textloop.store.tables import Prediction, ReviewTask

log = logging.getLogger(__name__)
SUFFIX = ".jsonl"
CLAIMED = ".recovering-"
SEGMENT_BYTES = 8 * 1024 * 1024


class Journal:
    def __init__(self, directory: Path, segment_bytes: int = SEGMENT_BYTES) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.segment_bytes = segment_bytes
        self._name = f"{process_id()}-{uuid.uuid4().hex[:8]}"
        self._number = 0
        self._full: list[tuple[Path, int]] = []  # closed segments, each with its last number
        self._last = 0  # the highest entry number in the open segment
        self._size = 0
        self._closed = False
        self._lock = threading.Lock()
        self.path = self._segment()
        self._fd = _open(self.path)

    def append(
        self, predictions: list[dict[str, Any]], tasks: list[dict[str, Any]], seq: int
    ) -> None:
        """Append one entry numbered ``seq``; the lines need not come in order of their numbers
        (a segment is dropped once the highest number in it is stored)."""
        line = json.dumps({"predictions": predictions, "tasks": tasks}, default=_iso) + "\n"
        data = line.encode("utf-8")  # encoded before the lock: writers wait on it only to write
        with self._lock:
            if self._closed:
                raise ValueError("the journal is closed")
            if self._size and self._size + len(data) > self.segment_bytes:
                self._rotate()
            os.write(self._fd, data)
            self._size += len(data)
            self._last = max(self._last, seq)

    def stored_through(self, seq: int) -> None:
        """Every entry numbered up to ``seq`` is stored: drop the segments that hold only those."""
        with self._lock:
            if self._closed:
                return
            while self._full and self._full[0][1] <= seq:
                path, _ = self._full.pop(0)
                path.unlink(missing_ok=True)
            if self._size and self._last <= seq:
                os.ftruncate(self._fd, 0)
                self._size = 0

    def close(self) -> None:
        """Only once everything in it is stored."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            os.close(self._fd)
            for path in [*(path for path, _ in self._full), self.path]:
                path.unlink(missing_ok=True)
            self._full.clear()

    def _rotate(self) -> None:
        """Close the full segment for a new one, opened first: a segment that cannot be opened
        (no file descriptors left, the folder gone) leaves the journal writing where it was."""
        number = self._number + 1
        path = self._segment(number)
        fd = _open(path)
        os.close(self._fd)
        self._full.append((self.path, self._last))
        self._number, self.path, self._fd, self._last, self._size = number, path, fd, 0, 0

    def _segment(self, number: int | None = None) -> Path:
        number = self._number if number is None else number
        return self.directory / f"{self._name}-{number:06d}{SUFFIX}"


def _open(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)


def recover(directory: Path, store: Store, rejected: RejectedRows | None = None) -> int:
    """Store what the journals of dead processes hold and is not stored yet; how many rows.

    A journal is claimed by renaming it ``<name>.recovering-<pid>``; a claim whose process died
    (it crashed or was killed while recovering) is claimed again, so no answered prediction is
    left behind in a file nobody reads. An entry the database refuses is kept aside
    (``rejected``) instead of stopping the server from starting.
    """
    recovered = 0
    for path in sorted(directory.glob(f"*{SUFFIX}*")):
        owner = _owner(path)
        if owner is None or _alive(*owner):
            continue
        original = path.name.split(CLAIMED, 1)[0]
        claimed = path.with_name(f"{original}{CLAIMED}{process_id()}")
        try:
            path.rename(claimed)
        except FileNotFoundError:  # another process claimed it first
            continue
        entries = _read(claimed)
        before = recovered
        try:
            recovered += _store_missing(store, entries)
        except Exception as exc:
            if not refused(exc):
                raise  # the database is away: the claim stays, for the next start
            for entry in entries:  # one by one: only the refused entry is kept aside
                try:
                    recovered += _store_missing(store, [entry])
                except Exception as alone:
                    if not refused(alone):
                        raise
                    if rejected is not None:
                        rejected.keep(entry["predictions"], entry["tasks"], reason(alone))
                    else:
                        log.error("the database refused a journal entry: %s", reason(alone))
        claimed.unlink()
        if entries:
            log.warning(
                "recovered %d rows answered by a dead process (%s)", recovered - before, original
            )
    return recovered


def _store_missing(store: Store, entries: list[dict[str, Any]]) -> int:
    """Insert the entries' rows that are not stored yet, in one transaction; how many."""
    inserted = 0
    with store.session() as session:
        for table, key in ((Prediction, "predictions"), (ReviewTask, "tasks")):
            rows = [row for entry in entries for row in entry[key]]
            ids = [row["id"] for row in rows]
            stored = set(session.scalars(select(table.id).where(table.id.in_(ids))))
            missing = [row for row in rows if row["id"] not in stored]
            if missing:
                session.execute(insert(table), missing)
                inserted += len(missing)
    return inserted


def process_id() -> str:
    """This process as journal names carry it: ``pid@start`` (its start time, in clock ticks
    since boot), so that a process that got a dead one's pid (a restarted container's server is
    often pid 1 again) is not taken for it; just the pid where the start time is unknown."""
    pid = os.getpid()
    started = _started(pid)
    return f"{pid}" if started is None else f"{pid}@{started}"


def _owner(path: Path) -> tuple[int, int | None] | None:
    """The process that holds a journal, its writer or the one recovering it: pid and start."""
    name = path.name
    held = name.rsplit(CLAIMED, 1)[1] if CLAIMED in name else name.split("-", 1)[0]
    pid, _, started = held.partition("@")
    try:
        return int(pid), int(started) if started else None
    except ValueError:
        return None


def _read(path: Path) -> list[dict[str, Any]]:
    """The entries of a journal in order, each row once (its first entry keeps it)."""
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line in path.read_text(encoding="utf-8", errors="surrogateescape").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:  # the line being written when the process died was never answered
            continue
        predictions = [_dated(row) for row in entry["predictions"] if row["id"] not in seen]
        tasks = [_dated(row) for row in entry["tasks"] if row["id"] not in seen]
        seen.update(row["id"] for row in (*predictions, *tasks))
        if predictions or tasks:
            entries.append({"predictions": predictions, "tasks": tasks})
    return entries


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dated(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "created_at": datetime.fromisoformat(row["created_at"])}


def _alive(pid: int, started: int | None = None) -> bool:
    """Whether the process ``pid`` (started at ``started``, when the name says) still runs."""
    if started is not None:
        now = _started(pid)
        if now is not None or pid == os.getpid():
            return now == started
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _started(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (Linux); None where that is unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None
