"""Deterministic train/validation/test assignment from a hash of the text.

A text's split depends on nothing but the text, so as a dataset grows no text ever moves between
splits and the test set of an old model stays unseen by every newer one.
"""

from __future__ import annotations

import hashlib
import unicodedata

BUCKETS = 10_000


def normalize_text(text: str) -> str:
    """The form under which two texts count as the same: NFC, collapsed whitespace."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def text_hash(text: str) -> str:
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def assign_split(hashed: str, fractions: dict[str, float]) -> str:
    """Map a text hash to a split name; ``fractions`` are weights in a fixed order."""
    total = sum(fractions.values())
    if total <= 0:
        raise ValueError("split fractions must add up to more than zero")
    bucket = int(hashed[:8], 16) % BUCKETS / BUCKETS
    cumulative = 0.0
    for name, weight in fractions.items():
        cumulative += weight / total
        if bucket < cumulative:
            return name
    return next(reversed(fractions))
