"""What the readers of annotation tools' exports share: JSON records, flat columns, one label.

A Label Studio export (``label_studio``) and an Argilla export (``argilla``) are lists of records
that nest the text, the record's other fields and each annotator's answers. Their readers flatten
every record into one row of string columns, so that ``--text-column`` and ``--label-column``
choose among them exactly as they would among a CSV file's columns: the record's fields by name,
and one column per question (a Label Studio ``Choices`` control, an Argilla question) holding the
label its annotators settled on. The rules, decided once here for every such format:

- a number keeps the text it was written as (``parse_int=str``), as in JSON Lines;
- a field holding a list or an object has no text: its column is unreadable, dropped as an extra
  and refused by name when chosen, as in every other reader;
- a question nobody answered has no label (None): ingest drops the row and counts it, as it does
  a row with an empty label in any file;
- annotators who agree give one label. Annotators who disagree, or one who chose several labels
  in a single-label read, leave no label the file can vouch for: such a cell is *bad*, and its
  row is refused naming the record, or skipped with ``--skip-bad-rows``; but only when that
  question is the chosen label, since another question's answers are extras at most. Taking the
  newest annotation instead would drop a person's label without a word;
- in a multi-label read the chosen label's question (``ReadOptions.list_column``, the reader's
  ``sets``) is answered by label sets instead: each answer is a set, possibly empty (an
  annotation that chose nothing: "no label applies"), annotators who agree give that set as a
  list, and annotators who disagree leave a bad cell as above. A record nobody answered has no
  set, which is not the empty set: its row is left out (``Flattened.left_out``), since a reader
  of sets takes a missing cell for the empty set. The names are checked where every list of
  labels is (``label_columns``), naming the record.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from textloop.data.jsonlines import json_lines, parse_json
from textloop.data.label_sets import LabelSet, label_set
from textloop.data.storable import unstorable
from textloop.data.values import NotText, value_text
from textloop.errors import DataError

SNIFF_BYTES = 1024 * 1024  # enough for the first record of any export; more is read if not


@dataclass(frozen=True)
class Flattened:
    """An export as string columns, and what a reader must know about them.

    ``unreadable``: columns with no text, and why. ``bad``: per column, the rows whose answers
    give no single label, and why (the reason says what fixes it). ``places``: how each row is
    named in a message (``task 17``, ``record 3f2a...``). ``left_out``: the places of the
    records left out because nobody answered the question read as label sets.
    """

    table: pa.Table
    unreadable: dict[str, str]
    bad: dict[str, dict[int, str]]
    places: list[str]
    left_out: list[str] = field(default_factory=list)


def load_records(data: Path | bytes, source: str) -> list[Any]:
    """The file's records: a JSON array, or JSON Lines (one record a line, blank lines skipped)."""
    text = (data.read_bytes() if isinstance(data, Path) else data).decode("utf-8-sig")
    if text.lstrip().startswith("["):
        records = parse_json(text, source)
        if not isinstance(records, list):
            raise DataError(f"{source}: expected a JSON array of records")
        return records
    return [record for _, record in json_lines(data, source)]


def sniff_export(data: Path | bytes, source: str) -> str:
    """The reader a JSON file needs, from its first record: ``label-studio`` (a task with a
    ``data`` object), ``argilla`` (a record with ``fields`` or ``inputs``), else ``jsonl``.

    A JSON array that is neither export is refused: textloop reads plain records as JSON Lines,
    and saying so beats the JSON Lines reader's complaint about line 1.
    """
    first, is_array = _first_record(data)
    kind = export_kind(first)
    if not is_array:
        return kind or "jsonl"
    if first is None:
        raise DataError(f"{source}: an empty JSON array: no records to read")
    if kind is None:
        raise DataError(
            f"{source}: a JSON array that is not a Label Studio or Argilla export (its first "
            'item has no "data", "fields" or "inputs" object); write one JSON object per '
            "line (JSON Lines), or name the file's format with --format"
        )
    return kind


def export_kind(record: object) -> str | None:
    """``label-studio`` or ``argilla`` when ``record`` has the shape of one of their records."""
    if not isinstance(record, dict):
        return None
    if isinstance(record.get("data"), dict):
        return "label-studio"
    if isinstance(record.get("fields"), dict) or isinstance(record.get("inputs"), dict):
        return "argilla"
    return None


def _first_record(data: Path | bytes) -> tuple[object, bool]:
    """The first record (None if there is none or it is not JSON) and whether it opens an array."""
    with data.open("rb") if isinstance(data, Path) else io.BytesIO(data) as handle:
        head = handle.read(SNIFF_BYTES)
        text = head.decode("utf-8-sig", errors="replace").lstrip()
        if not text.startswith("["):  # JSON Lines: the first line that is not blank, whole
            handle.seek(0)
            line = next((line for line in handle if line.strip()), b"")
            try:
                return json.loads(line.decode("utf-8-sig")), False
            except (json.JSONDecodeError, UnicodeDecodeError):
                return None, False
    rest = text[1:].lstrip()
    if rest.startswith("]"):
        return None, True
    try:
        return json.JSONDecoder().raw_decode(rest)[0], True
    except json.JSONDecodeError:  # a first record longer than the head: read it all
        whole = data.read_bytes() if isinstance(data, Path) else data
        try:
            records = json.loads(whole.decode("utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return {}, True  # not JSON at all: the reader chosen says where
        return (records[0] if isinstance(records, list) and records else None), True


class Columns:
    """String columns filled one record at a time: fields by name, questions by name; and the
    question named ``sets``, when there is one, as a column of label sets."""

    def __init__(self, source: str, tool: str, sets: str | None = None) -> None:
        self._source, self._tool, self.sets = source, tool, sets
        self._values: dict[str, dict[int, str]] = {}
        self._set_answers: dict[int, list[LabelSet]] = {}  # the question ``sets``, by row
        self._nothing: set[int] = set()  # rows where an annotation chose none of its labels
        self._fields: set[str] = set()
        self._questions: set[str] = set()
        self.unreadable: dict[str, str] = {}
        self.bad: dict[str, dict[int, str]] = {}
        self.places: list[str] = []

    def add_row(self, place: str) -> int:
        self.places.append(place)
        return len(self.places) - 1

    def field(self, row: int, name: str, value: object) -> None:
        """A field of the record; a second value for a name already set in this row is dropped
        (the first of a record's fields and metadata wins, as a CSV's first same-named column)."""
        self._name(name, self._fields, self._questions)
        column = self._values.setdefault(name, {})
        if row in column or value is None:
            return
        try:
            text = value_text(value)
        except NotText:
            self.unreadable.setdefault(name, "holds lists or objects, not text")
            return
        if text is not None:
            self._store(column, row, name, text)

    def answers(self, row: int, question: str, given: Sequence[object]) -> None:
        """The label ``question``'s answers in this row settle on: one label, none, or a bad
        cell. An answer is a label, a list of labels (a multiple choice), or None (no answer).
        The question ``sets`` settles on a label set instead (``_settled_sets``)."""
        self._name(question, self._questions, self._fields)
        if question == self.sets:
            self._collect_set(row, question, given)
            return
        column = self._values.setdefault(question, {})
        chosen: list[tuple[str, ...]] = []
        for answer in given:
            labels = _labels(answer)
            if labels is None:
                self.unreadable.setdefault(question, "holds answers that are not labels")
                return
            if labels:
                chosen.append(labels)
        several = next((labels for labels in chosen if len(labels) > 1), None)
        distinct = sorted({labels[0] for labels in chosen})
        if several is not None:
            self.bad.setdefault(question, {})[row] = (
                f"{question!r} has {len(several)} labels chosen ({', '.join(several)}) in a "
                f"single-label read: keep one in {self._tool}, pass --multi-label "
                "(multi_label=true on an upload) to read label sets"
            )
        elif len(distinct) > 1:
            self.bad.setdefault(question, {})[row] = (
                f"the annotators of {question!r} disagree ({', '.join(distinct)}): settle it "
                f"in {self._tool}"
            )
        elif distinct:
            self._store(column, row, question, distinct[0])

    def chose_nothing(self, row: int) -> None:
        """One annotation of this row answered without choosing any label of ``sets``, which
        leaves no answer of its own (Label Studio): the empty set, if ``sets`` is a question."""
        self._nothing.add(row)

    def _collect_set(self, row: int, question: str, given: Sequence[object]) -> None:
        """Keep ``question``'s answers in this row as sets, for ``_settled_sets``: an answer is
        a list of labels, possibly empty (the empty set), a label (a set of one), or None (no
        answer)."""
        kept = self._set_answers.setdefault(row, [])
        for answer in given:
            labels = None if answer is None else _labels(answer)
            if labels is None:
                if answer is not None:
                    self.unreadable.setdefault(question, "holds answers that are not labels")
                continue
            for label in labels:
                problem = unstorable(label)
                if problem is not None:  # as a cell's label, refused before pyarrow meets it
                    raise DataError(f"{self._source}: {self.places[row]}: {question!r} {problem}")
            kept.append(label_set(label.strip() for label in labels))

    def _settled_sets(self, question: str) -> dict[int, LabelSet | None]:
        """Per answered row, the set its answers agree on, or None when they disagree (a bad
        cell); a row nobody answered is not there."""
        settled: dict[int, LabelSet | None] = {}
        for row in sorted(self._set_answers.keys() | self._nothing):
            chosen = set(self._set_answers.get(row, ())) | ({()} if row in self._nothing else set())
            if len(chosen) > 1:
                shown = ", ".join(f"[{', '.join(labels)}]" for labels in sorted(chosen))
                self.bad.setdefault(question, {})[row] = (
                    f"the annotators of {question!r} disagree ({shown}): settle it in {self._tool}"
                )
                settled[row] = None
            elif chosen:
                settled[row] = chosen.pop()
        return settled

    def flattened(self) -> Flattened:
        """The columns, less the rows nobody answered ``sets`` in (``Flattened.left_out``)."""
        sets = self.sets
        if sets is None or sets not in self._questions or sets in self.unreadable:
            table = self._table(range(len(self.places)))
            return Flattened(table, self.unreadable, self.bad, self.places)
        settled = self._settled_sets(sets)
        rows = list(settled)
        labels = [None if chosen is None else list(chosen) for chosen in settled.values()]
        table = self._table(rows, {sets: pa.array(labels, pa.list_(pa.string()))})
        renumbered = {row: index for index, row in enumerate(rows)}
        bad = {
            name: {renumbered[row]: why for row, why in cells.items() if row in renumbered}
            for name, cells in self.bad.items()
        }
        left_out = [place for row, place in enumerate(self.places) if row not in renumbered]
        places = [self.places[row] for row in rows]
        return Flattened(table, self.unreadable, bad, places, left_out)

    def _table(self, rows: Sequence[int], more: dict[str, pa.Array] | None = None) -> pa.Table:
        """The string columns' cells of ``rows``, and ``more`` columns of as many rows."""
        columns = {
            name: pa.array([values.get(row) for row in rows], pa.string())
            for name, values in self._values.items()
        }
        return pa.table(columns | (more or {}))

    def _store(self, column: dict[int, str], row: int, name: str, text: str) -> None:
        problem = unstorable(text)
        if problem is not None:  # an escaped lone surrogate ("\ud800"): no text holds it
            raise DataError(f"{self._source}: {self.places[row]}: {name!r} {problem}")
        column[row] = text

    def _name(self, name: str, kind: set[str], other: set[str]) -> None:
        if name in other:
            raise DataError(
                f"{self._source}: {name!r} names both a field and a question; rename one of "
                f"them in {self._tool} and export again"
            )
        kind.add(name)


def _labels(answer: object) -> tuple[str, ...] | None:
    """An answer's labels (empty: no answer); None when it holds something that is no label."""
    values = answer if isinstance(answer, list) else [] if answer is None else [answer]
    labels = []
    for value in values:
        try:
            text = value_text(value)
        except NotText:
            return None
        if text is not None and text.strip():
            labels.append(text)
    return tuple(labels)


def place_of(record: object, index: int, noun: str) -> str:
    """How a record is named in messages: by its own id when it has one, else its position."""
    if isinstance(record, dict) and isinstance(record.get("id"), str | int) and record["id"] != "":
        return f"{noun} {record['id']}"
    return f"{noun} at position {index + 1}"


def expect_object(value: object, source: str, place: str, what: str) -> dict[str, Any]:
    """``value`` when it is a JSON object (None: an empty one); else a ``DataError``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DataError(f"{source}: {place}: {what} is not a JSON object")
    return value


def expect_list(value: object, source: str, place: str, what: str) -> list[Any]:
    """``value`` when it is a JSON array (None: an empty one); else a ``DataError``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise DataError(f"{source}: {place}: {what} is not a JSON array")
    return value
