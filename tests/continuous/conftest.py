"""What these tests share: review decisions made in process queue retrains, as in a server."""

from collections.abc import Iterator

import pytest

from textloop.continuous.triggers import after_review, connect_triggers
from textloop.signals import REVIEW_DECIDED


@pytest.fixture(autouse=True)
def triggers() -> Iterator[None]:
    """Connected as ``create_app`` connects them, and left as found after: nothing connects
    them by being imported."""
    found = REVIEW_DECIDED.connected(after_review)
    connect_triggers()
    yield
    if not found:
        REVIEW_DECIDED.disconnect(after_review)
