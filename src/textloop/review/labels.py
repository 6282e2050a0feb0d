"""The one check that a label given by a person (feedback, a review decision) is a known label.

The error lists the classifier's labels, so the person can pick the right one: the first
``SHOWN_LABELS`` (20) in order, then how many more there are.
"""

from __future__ import annotations

from collections.abc import Sequence

from textloop.errors import InvalidRequest
from textloop.store.tables import Classifier

SHOWN_LABELS = 20


def require_known_label(classifier: Classifier, label: str) -> None:
    """Raise ``InvalidRequest`` naming the valid labels unless ``label`` is one of them."""
    if label not in classifier.labels:
        raise InvalidRequest(
            f"{label!r} is not a label of {classifier.name!r}; "
            f"its labels are: {label_list(classifier.labels)}",
            field="label",
        )


def label_list(labels: Sequence[str]) -> str:
    shown = ", ".join(sorted(labels)[:SHOWN_LABELS]) or "(none yet)"
    more = len(labels) - SHOWN_LABELS
    return f"{shown} and {more} more" if more > 0 else shown
