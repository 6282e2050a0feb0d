"""A file's label column read as label sets, for a multi-label classifier (``label_sets``).

A cell of text holds its names joined by the separator (``billing|refund``; an empty cell is the
empty set, "no label applies"); a column of lists (Parquet ``list<string>``, a JSON array) holds
them one per item, so a name there may hold anything but the separator, which would not survive
being written back into a cell. Either way each row's set leaves here encoded
(``label_sets.encode``), or the first bad row refuses the file naming its place as the reader
names it (``data.csv: line 4: ...``, ``data.parquet: row 4: ...``). A bad label set is refused
even with ``--skip-bad-rows``: a typo in a label is not a row that cannot be stored, and
skipping it would train on a file that says something else.

A list column read without multi-label mode is refused rather than guessed at: whether a
classifier answers one label or a set is fixed when it is created, and a file should not decide
it by the shape of a column.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from textloop.data import label_sets
from textloop.data.row_limits import Where
from textloop.data.values import NotText, value_text
from textloop.errors import DataError, Remedy

PASS_MULTI_LABEL = Remedy(
    cli="pass --multi-label to read them as label sets",
    api="send multi_label=true to read them as label sets",
)


def is_list(kind: pa.DataType) -> bool:
    """A column of lists of single values: one label set per row."""
    return (pa.types.is_list(kind) or pa.types.is_large_list(kind)) and not pa.types.is_nested(
        kind.value_type
    )


def refuse_lists(source: str, column: str) -> DataError:
    """A list column that a single-label read met."""
    return DataError(
        f"{source}: column {column!r} holds lists of labels",
        remedy=PASS_MULTI_LABEL,
    )


def sets_from_lists(
    column: pa.ChunkedArray, source: str, where: Where, separator: str
) -> pa.ChunkedArray:
    """Each row's list (a null row: the empty set) as an encoded set."""
    encoded: list[str] = []
    for index, items in enumerate(column.to_pylist()):
        try:
            encoded.append(label_sets.encode(_names(items or (), separator)))
        except DataError as refused:
            raise _placed(refused, source, where, index) from None
    return pa.chunked_array([pa.array(encoded, pa.string())], pa.string())


def sets_from_cells(
    column: pa.ChunkedArray, source: str, where: Where, separator: str
) -> pa.ChunkedArray:
    """Each row's cell (``a|b``; empty or null: the empty set) as an encoded set."""
    encoded: list[str] = []
    for index, cell in enumerate(column.to_pylist()):
        try:
            encoded.append(label_sets.encode(label_sets.parse(cell, separator)))
        except DataError as refused:
            raise _placed(refused, source, where, index) from None
    return pa.chunked_array([pa.array(encoded, pa.string())], pa.string())


def _names(items: Iterable[object], separator: str) -> list[str]:
    """A row's list items as label names (a null item is an empty name, refused as such)."""
    try:
        names = [value_text(item) or "" for item in items]
    except NotText as reason:
        raise DataError(f"a label {reason}") from None
    label_sets.check_names(names, separator)
    return [name.strip() for name in names]


def _placed(refused: DataError, source: str, where: Where, index: int) -> DataError:
    """``refused`` said with the file and the place of row ``index``, looked up only now (a
    reader's places may cost a pass over the file)."""
    (place,) = where([index])
    return DataError(f"{source}: {place}: {refused.message}", remedy=refused.remedy)
