"""The one check that a label given by a person (feedback, a review decision) is a known label.

The error lists the classifier's labels, so the person can pick the right one: the first
``SHOWN_LABELS`` (20) in order, then how many more there are.
"""

from __future__ import annotations

from collections.abc import Sequence

from textloop.errors import InvalidRequest
from textloop.store.stored_labels import Mode, decode, encode
from textloop.store.tables import Classifier

SHOWN_LABELS = 20


def require_known_label(classifier: Classifier, label: str) -> None:
    """Raise ``InvalidRequest`` naming the valid labels unless ``label`` is one of them (for a
    multi-label classifier ``label`` is a stored set, and each of its names must be)."""
    names = decode(label) if classifier.mode == Mode.MULTI_LABEL else (label,)
    for name in names:
        if name not in classifier.labels:
            raise InvalidRequest(
                f"{name!r} is not a label of {classifier.name!r}; "
                f"its labels are: {label_list(classifier.labels)}",
                field="label",
            )


def label_list(labels: Sequence[str]) -> str:
    shown = ", ".join(sorted(labels)[:SHOWN_LABELS]) or "(none yet)"
    more = len(labels) - SHOWN_LABELS
    return f"{shown} and {more} more" if more > 0 else shown


def canonical_set(classifier: Classifier, label: str | None) -> str | None:
    """A multi-label classifier's decision in the one form two equal sets share (sorted, each
    name once; the empty set is ``None``, "none of these"), or refused when a name is empty;
    any other classifier's label as it is. Two reviewers who chose one set then agree."""
    if classifier.mode != Mode.MULTI_LABEL or label is None:
        return label
    names = decode(label)
    if any(not name.strip() for name in names):
        raise InvalidRequest("a label name is empty", field="labels")
    return encode(names) or None
