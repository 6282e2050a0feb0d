"""One registry mechanism for every pluggable kind: model families, query strategies, job
handlers (``textloop.worker``), batch engines and event types.

Built-ins register exactly as a user's own do: ``@registry.register("name")`` on the class (or
function, for a job handler). A lookup of an unknown name is a ``NotFound`` that lists the known
ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from textloop.errors import NotFound

C = TypeVar("C")


class Registry:
    def __init__(
        self, kind: str, plural: str, name_attribute: str, builtins: Callable[[], None]
    ) -> None:
        self.kind, self.plural = kind, plural
        self._attribute = name_attribute  # the class learns its registered name here
        self._builtins = builtins
        self._entries: dict[str, Any] = {}

    def register(self, name: str) -> Callable[[C], C]:
        def decorate(cls: C) -> C:
            self._entries[name] = cls
            setattr(cls, self._attribute, name)
            return cls

        return decorate

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def get(self, name: str) -> Any:
        self._builtins()
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries))
            raise NotFound(f"unknown {self.kind} {name!r}; known {self.plural}: {known}") from None

    def names(self) -> list[str]:
        self._builtins()
        return sorted(self._entries)
