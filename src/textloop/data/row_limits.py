"""Rows that cannot be stored as they are: refused naming the file and line, or skipped.

A text over ``MAX_TEXT_LENGTH`` characters (after whitespace normalisation, as it would be
stored), a label over ``MAX_LABEL_LENGTH``, or any value holding a character no database stores
(NUL, an unpaired surrogate: ``storable``) is a bad row, like a row with the wrong number of
fields: by default it refuses the file, naming where it is (``data.csv: line 7: text is 12,000
characters...``); with ``skip_bad_rows`` such rows are left out, counted and their places named.
Where a row is comes from the reader (``Where``): the line it starts on in a CSV, TSV or JSONL
file, its row in a Parquet file or a sheet, its task or record in an annotation tool's export.
A row whose chosen label a reader could not settle (``without_bad_cells``: an export's
annotators who disagree) is refused or skipped the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from textloop.data.label_sets import decode
from textloop.data.splits import normalize_text
from textloop.data.storable import unstorable
from textloop.errors import DataError

MAX_TEXT_LENGTH = 10_000
MAX_LABEL_LENGTH = 200
SHOWN = 10
SKIP_HINT = "skip such rows (--skip-bad-rows; skip_bad_rows=true on an upload)"
Where = Callable[[Sequence[int]], list[str]]  # row indices → "line 7", "row 7"


def too_long(text: str | None, label: str | None, label_set: bool = False) -> str | None:
    """Why the row is too long, or None when it is not. ``label_set``: ``label`` is a stored
    label set (``label_sets.encode``), whose every name is held to the limit of a label."""
    if text and len(text) > MAX_TEXT_LENGTH:
        length = len(normalize_text(text))  # only long texts pay for normalising twice
        if length > MAX_TEXT_LENGTH:
            return f"text is {length:,} characters, the limit is {MAX_TEXT_LENGTH:,}"
    if label and len(label.strip()) > MAX_LABEL_LENGTH:  # stored stripped
        longest = max(decode(label), key=len) if label_set else label.strip()
        if len(longest) > MAX_LABEL_LENGTH:
            return f"label is {len(longest):,} characters, the limit is {MAX_LABEL_LENGTH:,}"
    return None


def within_limits(
    table: pa.Table,
    source: str,
    where: Where,
    skip: bool,
    notify: Callable[[str], None] | None,
    label_sets: bool = False,
) -> pa.Table:
    """``table`` without its bad rows when ``skip``; else the first one refuses it.
    ``label_sets``: the labels are stored label sets (``too_long``)."""
    labels = table.column("label").to_pylist() if "label" in table.column_names else None
    found: dict[int, str] = {}
    for index, text in enumerate(table.column("text").to_pylist()):
        reason = too_long(text, labels[index] if labels else None, label_sets)
        if reason is not None:
            found[index] = reason
    for name in table.column_names:  # NUL, in any column (an Arrow string holds no surrogate)
        marked = pc.fill_null(pc.match_substring(table.column(name), "\x00"), False)
        for index in pc.indices_nonzero(marked).to_pylist():
            problem = unstorable(table.column(name)[index].as_py())
            if problem is not None and index not in found:
                found[index] = f"{_column(name)} {problem}"
    bad = sorted(found.items())
    if not bad:
        return table
    if not skip:
        index, reason = bad[0]
        (place,) = where([index])
        more = f" ({len(bad):,} such rows)" if len(bad) > 1 else ""
        raise DataError(f"{source}: {place}: {reason}{more}; shorten it, or {SKIP_HINT}")
    places = where([index for index, _ in bad[:SHOWN]])
    extra = f" and {len(bad) - SHOWN:,} more" if len(bad) > SHOWN else ""
    if notify is not None:
        notify(
            f"skipped {len(bad):,} rows of {source} that cannot be stored (a text over "
            f"{MAX_TEXT_LENGTH:,} or a label over {MAX_LABEL_LENGTH:,} characters, or a NUL or "
            f"unpaired surrogate) ({', '.join(places)}{extra})"
        )
    drop = {index for index, _ in bad}
    keep = pa.array([i not in drop for i in range(table.num_rows)])
    return table.filter(keep)


def without_bad_cells(
    table: pa.Table,
    bad: Mapping[int, str],
    source: str,
    where: Where,
    skip: bool,
    notify: Callable[[str], None] | None,
) -> tuple[pa.Table, list[int]]:
    """``table`` without the rows its reader found no single value for (``bad``: row → why,
    the reason ending in its fix), and the indices of the rows kept; unless ``skip``, the first
    such row refuses the file."""
    rows = sorted(bad)
    if not skip:
        (place,) = where(rows[:1])
        more = f" ({len(rows):,} such rows)" if len(rows) > 1 else ""
        raise DataError(f"{source}: {place}: {bad[rows[0]]}{more}, or {SKIP_HINT}")
    if notify is not None:
        places = where(rows[:SHOWN])
        extra = f" and {len(rows) - SHOWN:,} more" if len(rows) > SHOWN else ""
        notify(
            f"skipped {len(rows):,} rows of {source} without a single label "
            f"({', '.join(places)}{extra})"
        )
    kept = [index for index in range(table.num_rows) if index not in bad]
    return table.take(pa.array(kept, pa.int64())), kept


def _column(name: str) -> str:
    """How a column is named in a message: its name in the file."""
    return f"column {name.removeprefix('extra:')!r}" if name.startswith("extra:") else name


def rows_numbered() -> Where:
    """Places of rows counted from 1, for a file without lines (Parquet)."""
    return lambda indices: [f"row {index + 1}" for index in indices]


def lines(starts: Callable[[], list[int]]) -> Where:
    """Places from the line each row starts on, computed only when a place is asked for."""

    def where(indices: Sequence[int]) -> list[str]:
        found = starts()
        return [f"line {found[i]}" if i < len(found) else f"row {i + 1}" for i in indices]

    return where
