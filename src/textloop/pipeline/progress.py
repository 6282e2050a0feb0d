"""How long-running steps report progress without knowing who is watching: bars drawn by Rich (on
a terminal, or in a Jupyter notebook, which Rich detects), or nobody."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from rich.console import Console
from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bars


class Progress(Protocol):
    def task(self, description: str, total: int | None = None) -> Callable[[int], None]:
        """Start a step; the returned callable advances it by ``n`` units."""
        ...

    def done(self) -> None:
        """Close the current step."""
        ...


class SilentProgress:
    def task(self, description: str, total: int | None = None) -> Callable[[int], None]:
        return lambda n: None

    def done(self) -> None:
        return None


class RichProgress:
    """The ``Progress`` protocol drawn as Rich bars on ``console`` (default: Rich's own, which
    draws in a notebook's output cell when run there)."""

    def __init__(self, enabled: bool = True, console: Console | None = None) -> None:
        self._progress = Bars(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
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
