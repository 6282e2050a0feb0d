"""Argilla's exported records for text classification, in its two generations.

Argilla 2.x (``dataset.records.to_json``, the nested form of ``records.to_list``): a JSON array
of records ``{"id", "status", "fields": {...}, "metadata": {...}, "responses": {question:
[{"value", "user_id"}]}, "suggestions": {question: {"value", "score", "agent"}}, ...}``. Every
field and metadata entry becomes a column, and every question a column under its name holding
the label its responses settle on (``--label-column label`` picks the usual ``LabelQuestion``
named ``label``). A response that carries a ``status`` counts only when ``submitted`` (a draft or
a discarded one is no answer); the export's responses carry none, and each is a submitted one.

Argilla 1.x (a ``TextClassificationRecord`` per line or in an array, as ``rg.load(...)
.to_datasets().to_json(...)`` writes them): ``text`` or ``inputs`` (an object of text fields),
``annotation`` (a label, or a list of them when ``multi_label``), ``prediction``, ``status``
(``Default``, ``Edited``, ``Validated``, ``Discarded``) and ``metadata``. The inputs (``text``
when there is no ``inputs.text``) and the metadata become columns, and the annotation the column
``annotation``, holding a label only for a ``Validated`` record (or one with no status): a
discarded record's annotation was thrown away and a default or edited one's never confirmed.

Suggestions and predictions are a model's guesses, not labels, and are not read. Ids, vectors and
the other bookkeeping keys are left out. The rules for no answer, disagreement and several labels
are those of ``annotations``. In a multi-label read the label's question (``sets``) is read as
label sets: a 2.x response's ``value`` (a ``MultiLabelQuestion``'s list of labels, ``[]`` when
none applies) and a 1.x ``annotation`` (a list in a ``multi_label`` dataset) are each a set, a
single label a set of one, and a null value no answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textloop.data.annotations import (
    Columns,
    Flattened,
    expect_list,
    expect_object,
    load_records,
    place_of,
)
from textloop.errors import DataError

TOOL = "Argilla"
ANNOTATION = "annotation"  # the column of an Argilla 1.x record's label
VALIDATED = ("Validated", None)
SUBMITTED = "submitted"


def read_argilla(data: Path | bytes, source: str, sets: str | None = None) -> Flattened:
    """The export's records as rows of string columns (see the module docstring); ``sets``: the
    question read as label sets, a multi-label read's label column."""
    columns = Columns(source, TOOL, sets)
    for index, record in enumerate(load_records(data, source)):
        place = place_of(record, index, "record")
        if isinstance(record, dict) and isinstance(record.get("fields"), dict):
            _version_2(columns, columns.add_row(place), record, source, place)
        elif isinstance(record, dict) and ("inputs" in record or "text" in record):
            _version_1(columns, columns.add_row(place), record, source, place)
        else:
            raise DataError(
                f'{source}: {place}: not an Argilla record (it has no "fields", "inputs" or "text")'
            )
    return columns.flattened()


def _version_2(columns: Columns, row: int, record: dict[str, Any], source: str, place: str) -> None:
    for name, value in record["fields"].items():
        columns.field(row, name, value)
    for name, value in expect_object(record.get("metadata"), source, place, '"metadata"').items():
        columns.field(row, name, value)
    responses = expect_object(record.get("responses"), source, place, '"responses"')
    for question, given in responses.items():
        answers = []
        for response in expect_list(given, source, place, f"the responses to {question!r}"):
            response = expect_object(response, source, place, "a response")
            if response.get("status", SUBMITTED) == SUBMITTED:
                answers.append(response.get("value"))
        columns.answers(row, question, answers)


def _version_1(columns: Columns, row: int, record: dict[str, Any], source: str, place: str) -> None:
    inputs = expect_object(record.get("inputs"), source, place, '"inputs"')
    for name, value in inputs.items():
        columns.field(row, name, value)
    if "text" not in inputs and record.get("text") is not None:  # null beside several inputs
        columns.field(row, "text", record["text"])
    for name, value in expect_object(record.get("metadata"), source, place, '"metadata"').items():
        columns.field(row, name, value)
    validated = record.get("status") in VALIDATED
    columns.answers(row, ANNOTATION, [record.get(ANNOTATION)] if validated else [])
