"""Answered predictions the database refused outright, kept aside instead of blocking the writer.

Inputs are checked at the door (``data.storable``), so a refusal here means a row got past every
check: a bug, or a database with rules of its own. The writer must go on storing every other
row, and recovery must go on starting the server, so the refused entry is appended to
``<data dir>/rejected/predictions.jsonl`` with the database's reason, counted
(``textloop_predictions_rejected_total`` on ``/metrics``) and logged once. Nothing is lost: an
operator can read, fix and re-import the file.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
FILE = "predictions.jsonl"


class RejectedRows:
    def __init__(self, directory: Path) -> None:
        self.path = directory / FILE
        self.count = 0
        self._lock = threading.Lock()

    def keep(
        self, predictions: list[dict[str, Any]], tasks: list[dict[str, Any]], reason: str
    ) -> None:
        """Append the refused entry with its reason; never raises for a row's content."""
        record = {"reason": reason, "predictions": predictions, "tasks": tasks}
        line = json.dumps(record, default=_plain, ensure_ascii=True) + "\n"  # escapes anything
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
            self.count += len(predictions)
        ids = ", ".join(str(row.get("id")) for row in predictions[:5])
        log.error("the database refused prediction(s) %s, kept in %s: %s", ids, self.path, reason)


def refused(exc: BaseException) -> bool:
    """Whether the database refused the rows themselves (retrying cannot help), as opposed to
    being unreachable or busy for a while."""
    from sqlalchemy.exc import DataError, IntegrityError, StatementError

    if isinstance(exc, IntegrityError | DataError):
        return True
    if isinstance(exc, StatementError):
        return isinstance(exc.orig, UnicodeError | ValueError | TypeError)
    return isinstance(exc, UnicodeError | ValueError | TypeError)


def reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _plain(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
