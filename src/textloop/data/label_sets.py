"""Label sets: what a multi-label classifier's texts carry, and how one is stored in a column.

A classifier is single-label (one label per text, today's and the default) or multi-label (a set
of labels per text, possibly empty: "no label applies" is an answer), fixed when it is created.
A set is stored in the same ``label`` column as a single label, as its sorted names joined by
``STORED_SEPARATOR`` (a control character no label name may contain), so the empty set is the
empty string and two equal sets always store alike: the content hash of a dataset version and
every split by text hash work unchanged. That stored form and ``Mode`` are the store's
(``store.stored_labels``, so that a layer beside this one reads a stored set too), named here
as well. Files join labels by ``|`` unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable

from textloop.errors import DataError, Remedy
from textloop.store.stored_labels import STORED_SEPARATOR, LabelSet, decode, label_set
from textloop.store.stored_labels import Mode as Mode  # the store's, named here as well
from textloop.store.stored_labels import encode as encode  # the store's, named here as well

DEFAULT_SEPARATOR = "|"
MAX_SEPARATOR_LENGTH = 10
ANOTHER_SEPARATOR = Remedy(
    cli="choose another with --label-separator", api="choose another with label_separator"
)


def parse(cell: str | None, separator: str = DEFAULT_SEPARATOR, where: str = "") -> LabelSet:
    """The set written in a file's label cell (``"billing|refund"``); an empty cell is the empty
    set. An empty name between separators (``"a||b"``, ``"a|"``) is refused naming ``where``
    (the file and row), since it is a typo more often than an intent."""
    if cell is None or not cell.strip():
        return ()
    names = [name.strip() for name in cell.split(separator)]
    if any(not name for name in names):
        raise DataError(
            f"{where}: the label cell {cell!r} has an empty label name between "
            f"{separator!r} separators".lstrip(": ")
        )
    check_names(names, separator, where)
    return label_set(names)


def check_names(names: Iterable[str], separator: str = DEFAULT_SEPARATOR, where: str = "") -> None:
    """Refuse a name that could not be written back into a file's cell or a stored set: one
    that holds the separator (from a list column, say) or the stored separator, or is empty."""
    for name in names:
        if not name.strip():
            raise DataError(f"{where}: a label name is empty".lstrip(": "))
        if separator in name or STORED_SEPARATOR in name:
            raise DataError(
                f"{where}: the label name {name!r} contains the label separator "
                f"{separator!r}".lstrip(": "),
                remedy=ANOTHER_SEPARATOR,
            )


def check_separator(separator: str) -> None:
    """Refuse a separator that could not split a cell: empty, overlong, or the stored one."""
    if not separator or len(separator) > MAX_SEPARATOR_LENGTH or STORED_SEPARATOR in separator:
        raise DataError(
            f"the label separator must be 1 to {MAX_SEPARATOR_LENGTH} characters other than "
            f"the unit separator, got {separator!r}",
            field="label_separator",
        )


def names_of(stored: Iterable[str]) -> list[str]:
    """The distinct label names that stored sets use, sorted: a multi-label classifier's
    ``labels``."""
    return sorted({name for labels in stored for name in decode(labels)})


def as_written(stored: str | None, separator: str = DEFAULT_SEPARATOR) -> str | None:
    """A stored label as a file or a terminal shows it: a set as its names joined by
    ``separator`` (a single label is a set of one, so it reads as itself); ``split_known`` reads
    it back."""
    return None if stored is None else separator.join(decode(stored))


def split_known(cell: str, names: Iterable[str], separator: str = DEFAULT_SEPARATOR) -> LabelSet:
    """The set of ``names`` whose join by ``separator`` is ``cell`` (an answer as a file holds
    it), read against the names it can hold so that a name containing the separator, which a
    plain split would cut, stays whole; ``DataError`` when no join of them gives ``cell``."""
    known = sorted(set(names), key=len, reverse=True)  # the longest first: a whole name wins

    def rest(start: int) -> list[str] | None:
        if start == len(cell):
            return []
        for name in known:
            end = start + len(name)
            if cell.startswith(name, start) and (
                end == len(cell) or cell.startswith(separator, end)
            ):
                found = rest(end + len(separator) if end < len(cell) else end)
                if found is not None:
                    return [name, *found]
        return None

    found = rest(0) if cell else []
    if found is None:
        raise DataError(f"{cell!r} is not a set of the labels {sorted(known)}")
    return label_set(found)
