"""How the CLI talks to people and scripts: Rich on a terminal, one JSON document with --json.

Errors are one line on stderr; progress bars go to stderr so stdout stays parseable.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

out = Console()
err = Console(stderr=True)


def emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise SystemExit(code)


class RichProgress:
    """The ``pipeline.progress.Progress`` protocol drawn as Rich bars on stderr."""

    def __init__(self, enabled: bool = True) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=err,
            disable=not enabled,
        )
        self._current: Any = None

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def task(self, description: str, total: int | None = None) -> Callable[[int], None]:
        self.done()
        self._current = self._progress.add_task(description, total=total)
        task_id = self._current
        return lambda n: self._progress.advance(task_id, n)

    def done(self) -> None:
        if self._current is not None:
            task = self._progress.tasks[self._current]
            self._progress.update(self._current, completed=task.total or 1, total=task.total or 1)
            self._current = None


def artifact_details(properties: dict[str, Any]) -> str:
    """An artifact's scalar properties as `` (k=v, ...)``, for one line of a tree."""
    shown = [
        f"{k}={v}"
        for k, v in properties.items()
        if isinstance(v, str | int | float | bool) and k != "path"
    ]
    return f" ({', '.join(shown)})" if shown else ""
