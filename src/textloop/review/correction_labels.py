"""A corrections file's label cell, read in its classifier's mode.

A single-label classifier's cell is one label, as written. A multi-label classifier's is a label
set, read as ingest reads one (``label_columns``): names joined by the separator (``card|refund``;
an empty cell is the empty set, "no label applies"), or a list, one name per item (a Parquet
list column; a JSON Lines array, which reaches this reader as the array's JSON text). Either way
the set leaves here in the store's form (``label_sets.encode``), or the row is refused naming
its place: an empty name (``a||b``) or a name holding the separator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from textloop.data.label_sets import DEFAULT_SEPARATOR, check_names, encode, parse
from textloop.data.values import NotText, value_text
from textloop.errors import DataError


@dataclass(frozen=True)
class LabelCells:
    sets: bool = False  # the classifier is multi-label
    separator: str = DEFAULT_SEPARATOR
    json_arrays: bool = False  # a JSON Lines file: a cell starting "[" may be an array

    def read(self, value: object, where: str) -> str:
        """The cell's label (a stored set for a multi-label classifier); ``DataError``
        starting with ``where`` when its set cannot be read."""
        if not self.sets:
            return cell_text(value).strip()
        items = self._items(value)
        if items is None:
            return encode(parse(cell_text(value), self.separator, where))
        try:
            names = [value_text(item) or "" for item in items]
        except NotText as reason:
            raise DataError(f"{where}: a label {reason}") from None
        check_names(names, self.separator, where)
        return encode(name.strip() for name in names)

    def _items(self, value: object) -> list[object] | None:
        """The cell's items when it holds a list, else None."""
        if isinstance(value, list | tuple):
            return list(value)
        if self.json_arrays and isinstance(value, str) and value.lstrip().startswith("["):
            try:
                found = json.loads(value)
            except ValueError:
                return None
            return found if isinstance(found, list) else None
        return None


ONE_LABEL = LabelCells()  # a single-label classifier's cells


def cell_text(value: object) -> str:
    """A cell as text: a typed Parquet value (an int label, say) as it would be written."""
    if value is None:
        return ""
    try:
        return value_text(value) or ""
    except NotText:
        return ""
