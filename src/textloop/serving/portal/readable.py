"""Readable names beside raw labels: ``card_arrival`` reads as "Card arrival". The raw label is
what is stored and searched; the readable name only helps the eye among many labels."""

from __future__ import annotations

import re
from collections.abc import Iterable

_SEPARATORS = re.compile(r"[_\-.]+")


def readable(label: str) -> str | None:
    """The label written as words, or None when that would only repeat it (one word)."""
    words = _SEPARATORS.sub(" ", label).strip()
    if not words or words == label:
        return None
    return words[0].upper() + words[1:]


def named(labels: Iterable[str]) -> list[tuple[str, str | None]]:
    """(label, readable name or None) for every label, alphabetically: the lists to pick from."""
    return [(label, readable(label)) for label in sorted(labels)]
