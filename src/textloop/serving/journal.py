"""A file of the predictions a server answered but has not stored yet, so a killed one loses none.

Each answered entry is appended as one JSON line before the answer is sent, and the file is
emptied whenever everything queued is stored. It is not synced to disk: it survives the process
being killed (SIGKILL, out of memory), which is what happens to servers, not a power cut. A server
that starts stores what dead ones left behind (``recover``), skipping rows already stored; a file
is claimed by renaming it, so two processes starting at once never both replay one.
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

from textloop.store.database import Store
from textloop.store.tables import Prediction, ReviewTask

log = logging.getLogger("textloop.journal")
SUFFIX = ".jsonl"


class Journal:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._lock = threading.Lock()

    def append(self, predictions: list[dict[str, Any]], tasks: list[dict[str, Any]]) -> None:
        line = json.dumps({"predictions": predictions, "tasks": tasks}, default=_iso) + "\n"
        with self._lock:
            os.write(self._fd, line.encode("utf-8"))

    def clear(self) -> None:
        with self._lock:
            os.ftruncate(self._fd, 0)

    def close(self) -> None:
        """Only once everything in it is stored."""
        with self._lock:
            os.close(self._fd)
            self.path.unlink(missing_ok=True)


def recover(directory: Path, store: Store) -> int:
    """Store what the journals of dead processes hold and is not stored yet; how many rows."""
    recovered = 0
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        if _alive(int(path.name.split("-", 1)[0])):
            continue
        claimed = path.with_name(f"{path.name}.recovering-{os.getpid()}")
        try:
            path.rename(claimed)
        except FileNotFoundError:  # another process claimed it first
            continue
        predictions, tasks = _read(claimed)
        with store.session() as session:
            for table, rows in ((Prediction, predictions), (ReviewTask, tasks)):
                ids = [row["id"] for row in rows]
                stored = set(session.scalars(select(table.id).where(table.id.in_(ids))))
                missing = [row for row in rows if row["id"] not in stored]
                if missing:
                    session.execute(insert(table), missing)
                    recovered += len(missing)
            session.commit()
        claimed.unlink()
        if predictions:
            log.warning("recovered %d answered predictions from %s", len(predictions), path.name)
    return recovered


def _read(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    predictions: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:  # the line being written when the process died was never answered
            continue
        predictions += [_dated(row) for row in entry["predictions"]]
        tasks += [_dated(row) for row in entry["tasks"]]
    unique = lambda rows: list({row["id"]: row for row in rows}.values())  # noqa: E731
    return unique(predictions), unique(tasks)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dated(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "created_at": datetime.fromisoformat(row["created_at"])}


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
