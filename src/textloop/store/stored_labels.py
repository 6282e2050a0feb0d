"""How a ``label`` column holds a label set, and whether a classifier's labels are sets.

A classifier is single-label or multi-label (``Mode``, its ``mode`` column). A multi-label
classifier's set is stored in the same ``label`` column as a single label, as its sorted names
joined by ``STORED_SEPARATOR`` (a control character no label name may contain), so the empty set
is the empty string and two equal sets always store alike. This is the store's form, kept here
at the bottom so that any layer reads a stored set alike; reading sets from files and checking
their names is ``data.label_sets``'.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

STORED_SEPARATOR = "\x1f"  # ASCII unit separator

LabelSet = tuple[str, ...]  # sorted, distinct names


class Mode(StrEnum):
    """Whether a classifier answers with one label or with a set of them."""

    SINGLE_LABEL = "single-label"
    MULTI_LABEL = "multi-label"


def label_set(names: Iterable[str]) -> LabelSet:
    """The set of ``names`` in its one canonical form: distinct, sorted."""
    return tuple(sorted(set(names)))


def encode(names: Iterable[str]) -> str:
    """How a set is stored in a ``label`` column; ``""`` is the empty set."""
    return STORED_SEPARATOR.join(label_set(names))


def decode(stored: str) -> LabelSet:
    """The set a stored ``label`` holds (``encode``'s inverse)."""
    return tuple(stored.split(STORED_SEPARATOR)) if stored else ()
