"""How long-running steps report progress without knowing who is watching (CLI bar or nobody)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


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
