"""Review tasks in Label Studio's import format, so that a team can label them there.

One Label Studio task per review task, oldest first, whatever its status: ``data`` holds the text
under the data key of the project's labelling config; ``predictions`` the model's suggestion,
when there is one, as a choice of the ``Choices`` control ``from_name`` for the object
``to_name``, with the model's confidence as ``score``; ``annotations`` each reviewer's decision,
a skip as a cancelled annotation (``was_cancelled: true``, as Label Studio records a skip); and
``meta`` textloop's task id, source, status and any reported label, which Label Studio keeps
beside the data without showing it to annotators. A multi-label classifier's sets go out as
multi-choice answers: every label of the set in one result item, the empty set ("no label
applies") as an annotation that chose nothing, which is how Label Studio's ``choice="multiple"``
control records them. That is the "basic Label Studio JSON format" of
its import page (a list of tasks with ``data``, ``annotations`` and ``predictions``), and a
project's export of such tasks is what ``textloop ingest`` reads (``data.label_studio``), with
the same ``from_name``: the labels go out and come back unchanged.

The names are the project's, which textloop cannot know: ``LabelStudioNames`` carries them, with
the defaults of Label Studio's text classification template but for the control's name.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.data.label_studio import choice
from textloop.review.assignments import SKIPPED
from textloop.store.queries import get_classifier
from textloop.store.stored_labels import Mode, decode
from textloop.store.tables import ModelVersion, Prediction, ReviewDecision, ReviewTask


@dataclass(frozen=True)
class LabelStudioNames:
    """Where a label goes in the project's labelling config: ``<Text name=TO_NAME
    value="$DATA_KEY"/>`` and ``<Choices name=FROM_NAME toName=TO_NAME>``."""

    data_key: str = "text"
    from_name: str = "label"
    to_name: str = "text"


DEFAULT_NAMES = LabelStudioNames()


def label_studio_tasks(
    session: Session, name: str, names: LabelStudioNames = DEFAULT_NAMES
) -> list[dict[str, Any]]:
    """Every review task of the classifier as a Label Studio task (see the module docstring)."""
    classifier = get_classifier(session, name)
    choices = _Choices(names, sets=classifier.mode == Mode.MULTI_LABEL)
    rows = session.execute(
        select(ReviewTask, ModelVersion.version)
        .outerjoin(Prediction, Prediction.id == ReviewTask.prediction_id)
        .outerjoin(ModelVersion, ModelVersion.id == Prediction.model_version_id)
        .where(ReviewTask.classifier_id == classifier.id)
        .order_by(ReviewTask.created_at, ReviewTask.id)
    ).all()
    decisions: dict[str, list[ReviewDecision]] = defaultdict(list)
    for decision in session.scalars(
        select(ReviewDecision)
        .join(ReviewTask, ReviewTask.id == ReviewDecision.task_id)
        .where(ReviewTask.classifier_id == classifier.id)
        .order_by(ReviewDecision.id)
    ):
        decisions[decision.task_id].append(decision)
    model = f"textloop {name}"
    return [
        _task(
            task,
            decisions[task.id],
            model if version is None else f"{model} v{version}",
            choices,
        )
        for task, version in rows
    ]


def label_studio_bytes(tasks: list[dict[str, Any]]) -> bytes:
    """The tasks as one JSON array, UTF-8, every character as it is."""
    return json.dumps(tasks, ensure_ascii=False, indent=1).encode("utf-8")


@dataclass(frozen=True)
class _Choices:
    """What a stored label chooses, under the project's names: one label, or a set's labels."""

    names: LabelStudioNames
    sets: bool

    def labels(self, stored: str | None) -> tuple[str, ...]:
        if stored is None:
            return ()
        return decode(stored) if self.sets else (stored,)

    def of(self, item_id: str, stored: str | None) -> list[dict[str, Any]]:
        """The ``result`` list choosing ``stored`` (none chosen: ``None``, or the empty set)."""
        chosen = self.labels(stored)
        if not chosen:
            return []
        return [choice(item_id, self.names.from_name, self.names.to_name, *chosen)]

    def reported(self, stored: str) -> str | list[str]:
        return list(self.labels(stored)) if self.sets else stored


def _task(
    task: ReviewTask, decisions: list[ReviewDecision], model: str, choices: _Choices
) -> dict[str, Any]:
    meta: dict[str, Any] = {"textloop_task": task.id, "source": task.source, "status": task.status}
    if task.reported_label is not None:
        meta["reported_label"] = choices.reported(task.reported_label)
    out: dict[str, Any] = {"data": {choices.names.data_key: task.text}, "meta": meta}
    if task.suggested_label is not None:
        prediction: dict[str, Any] = {
            "model_version": model,
            "result": choices.of(f"{task.id}-p", task.suggested_label),
        }
        if task.confidence is not None:
            prediction["score"] = task.confidence
        out["predictions"] = [prediction]
    out["annotations"] = [
        {
            # a skip is a cancelled annotation; "none of these" (or no label applies) an
            # annotation that chose none
            "result": []
            if decision.label == SKIPPED
            else choices.of(f"{task.id}-{decision.id}", decision.label),
            "was_cancelled": decision.label == SKIPPED,
            "created_at": decision.created_at.isoformat(),
        }
        for decision in decisions
    ]
    return out
