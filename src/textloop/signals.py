"""In-process domain signals: code lower down announces what happened; code higher up reacts.

A package may import only the layers below it (``docs/architecture.md``), so a low layer that
must set off work owned by a higher one announces a signal here instead of calling it: review
announces ``review.decided`` when a task is settled, and the retrain triggers of
``continuous`` (which import review, never the reverse) subscribe to it. Receivers run at once,
in the announcer's thread and database session, so what they do commits or rolls back with the
announcement. The server connects them as it is built (``create_app`` calls
``continuous.triggers.connect_triggers``), so that no decision depends on which modules happen
to be imported; other code that settles tasks in process connects them the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Receiver = Callable[..., Any]


class Signal:
    def __init__(self, name: str) -> None:
        self.name = name
        self._receivers: list[Receiver] = []

    def connect(self, receiver: Receiver) -> Receiver:
        """Subscribe ``receiver`` (usable as a decorator); connecting twice changes nothing."""
        if receiver not in self._receivers:
            self._receivers.append(receiver)
        return receiver

    def connected(self, receiver: Receiver) -> bool:
        return receiver in self._receivers

    def disconnect(self, receiver: Receiver) -> None:
        if receiver in self._receivers:
            self._receivers.remove(receiver)

    def send(self, *args: Any, **kwargs: Any) -> None:
        """Call every receiver in the order they connected; an error propagates to the
        announcer, whose transaction it fails."""
        for receiver in list(self._receivers):
            receiver(*args, **kwargs)


# A review task was settled with a final label: ``(session, classifier)``.
REVIEW_DECIDED = Signal("review.decided")
