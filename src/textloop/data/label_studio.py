"""Label Studio's JSON: reading an export of annotated tasks, and the shape of a choice.

An export is a JSON array of tasks (Label Studio's "JSON" export; its task format is documented
at labelstud.io/guide/task_format), each with a ``data`` object (the labelling config's
variables: ``{"text": ...}`` and any other fields) and ``annotations``, each holding a ``result``
list whose ``type: "choices"`` items give ``from_name`` (the ``Choices`` control), ``to_name``
(the object it labels) and ``value: {"choices": [...]}``. ``completions``, the name before
Label Studio 1.0, is read the same way.

Each task becomes one row: every ``data`` field a column under its own name, and every
``Choices`` control a column under its ``from_name`` (so ``--label-column sentiment`` picks the
control ``<Choices name="sentiment">``, ``--text-column`` the data field). A cancelled (skipped)
annotation, ``was_cancelled: true``, is no answer; ``predictions`` are a model's guesses, not
labels, and are not read; results of other types (spans, ratings, text areas) are not labels of
a text classifier and are left out. The rules for no answer, disagreement and several choices
are those of ``annotations``. In a multi-label read the label's control (``sets``) gives each
annotation's choices as a label set, and an annotation (not cancelled) that chose none of them
answers the empty set: Label Studio writes no result for a ``Choices`` left blank.

``choice`` builds the ``result`` item textloop writes back (``review.label_studio``), so that
reading and writing agree on the shape.
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

TOOL = "Label Studio"
CHOICES = "choices"


def read_label_studio(data: Path | bytes, source: str, sets: str | None = None) -> Flattened:
    """The export's tasks as rows of string columns (see the module docstring); ``sets``: the
    control read as label sets, a multi-label read's label column."""
    columns = Columns(source, TOOL, sets)
    for index, task in enumerate(load_records(data, source)):
        place = place_of(task, index, "task")
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise DataError(f'{source}: {place}: not a Label Studio task (it has no "data" object)')
        row = columns.add_row(place)
        for name, value in task["data"].items():
            columns.field(row, name, value)
        given: dict[str, list[object]] = {}
        annotations = task["annotations"] if "annotations" in task else task.get("completions")
        for annotation in expect_list(annotations, source, place, '"annotations"'):
            annotation = expect_object(annotation, source, place, "an annotation")
            if annotation.get("was_cancelled") is True:
                continue
            chosen_by_control = _choices(annotation, source, place)
            if sets is not None and sets not in chosen_by_control:
                columns.chose_nothing(row)
            for control, chosen in chosen_by_control.items():
                given.setdefault(control, []).append(chosen)
        for control, answers in given.items():
            columns.answers(row, control, answers)
    return columns.flattened()


def _choices(annotation: dict[str, Any], source: str, place: str) -> dict[str, list[object]]:
    """What one annotation chose, per ``Choices`` control (a control twice: both choices)."""
    chosen: dict[str, list[object]] = {}
    for item in expect_list(annotation.get("result"), source, place, 'an annotation\'s "result"'):
        item = expect_object(item, source, place, "a result")
        if item.get("type") != CHOICES:
            continue
        control = item.get("from_name")
        value = expect_object(item.get("value"), source, place, 'a result\'s "value"')
        choices = value.get(CHOICES)
        if not isinstance(control, str) or not control or not isinstance(choices, list):
            raise DataError(
                f'{source}: {place}: a "choices" result needs a "from_name" and '
                '"value": {"choices": [...]}'
            )
        chosen.setdefault(control, []).extend(choices)
    return chosen


def choice(item_id: str, from_name: str, to_name: str, *labels: str) -> dict[str, Any]:
    """One ``result`` item choosing ``labels`` (one, or a multi-choice set) in the control
    ``from_name`` for ``to_name`` (Label Studio asks for an ``id`` per item, unique among the
    items it imports)."""
    return {
        "id": item_id,
        "from_name": from_name,
        "to_name": to_name,
        "type": CHOICES,
        "value": {CHOICES: list(labels)},
    }
