"""Long admin lists, a page at a time: a queue worked through oldest first goes by page number
(the conflicts: "page 2 of 3"), a log read newest first goes by an id cursor (the history and the
audit log: "Older"), which stays put while new rows arrive at the top.

Every link keeps the filters the page was asked for, so paging never loses them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass(frozen=True)
class Page:
    """Page ``number`` (from 1) of ``total`` rows shown ``size`` at a time."""

    number: int
    size: int
    total: int

    @property
    def count(self) -> int:
        """How many pages there are; an empty list still has its one (empty) page."""
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.count else None


def page_of(asked: int, size: int, total: int) -> Page:
    """The page asked for, or the last one when it asks past the end: after the last row of a
    page is dealt with, the same address still shows rows."""
    last = max(1, -(-total // size))
    return Page(number=max(1, min(asked, last)), size=size, total=total)


def older_link(path: str, filters: Mapping[str, str], ids: Sequence[int], size: int) -> str | None:
    """The address of the rows older than ``ids`` (a full page, newest first), with the same
    filters; None when this page is the last (it is not full)."""
    if len(ids) < size:
        return None
    return f"{path}?{urlencode({**filters, 'before_id': ids[-1]})}"
