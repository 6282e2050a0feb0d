"""Exports of annotation tools written by hand, field by field as their documentation shows them.

Label Studio: labelstud.io/guide/task_format (a JSON array of tasks, each with ``data``,
``annotations`` whose ``result`` holds ``choices`` items, and ``predictions`` of the same shape
with ``model_version`` and ``score``). Argilla: the nested records of ``dataset.records.to_json``
(2.x) and the ``TextClassificationRecord`` columns of ``to_datasets()`` (1.x).

Multi-label: a Label Studio ``<Choices name="tags" toName="text" choice="multiple">`` control
gives every choice ticked in one ``choices`` item, and none at all when nothing is ticked (the
annotation's ``result`` lacks the control); an Argilla 2.x ``MultiLabelQuestion`` is answered
with a list of labels (``[]`` when none applies) and suggested with a list of labels and a score
per label; an Argilla 1.x ``multi_label`` dataset's ``annotation`` is a list.
"""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(1001)


def choices(*labels: str, control: str = "sentiment", to_name: str = "text") -> dict[str, Any]:
    """One ``result`` item of a ``<Choices name=control toName=to_name>`` control."""
    return {
        "id": f"r{next(_ids)}",
        "from_name": control,
        "to_name": to_name,
        "type": "choices",
        "origin": "manual",
        "value": {"choices": list(labels)},
    }


def tags(*labels: str) -> dict[str, Any]:
    """One ``result`` item of ``<Choices name="tags" toName="text" choice="multiple">``: the
    choices ticked (an annotation that ticks none has no such item)."""
    return choices(*labels, control="tags")


def annotation(*results: dict[str, Any], cancelled: bool = False, by: int = 10) -> dict[str, Any]:
    """One person's annotation of a task: its results, or a skip (``was_cancelled``)."""
    return {
        "id": next(_ids),
        "completed_by": by,
        "result": list(results),
        "was_cancelled": cancelled,
        "ground_truth": False,
        "created_at": "2021-03-09T22:16:08.728353Z",
        "updated_at": "2021-03-09T22:16:08.728378Z",
        "lead_time": 4.288,
        "result_count": 0,
        "task": 1,
    }


def task(
    task_id: int,
    text: str,
    *annotations: dict[str, Any],
    predicted: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A task as Label Studio exports it: ``data`` (the text and any other fields), the
    annotations, and a model's prediction when ``predicted`` is given."""
    predictions = []
    if predicted is not None:
        predictions.append(
            {"model_version": "model 1", "score": 0.61, "result": [choices(predicted)]}
        )
    return {
        "id": task_id,
        "created_at": "2021-03-09T21:52:49.513742Z",
        "updated_at": "2021-03-09T22:16:08.746926Z",
        "project": 83,
        "data": {"text": text, **fields},
        "annotations": list(annotations),
        "predictions": predictions,
    }


def argilla_record(
    record_id: str,
    text: str,
    *labels: object,
    suggested: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An Argilla 2.x record as ``records.to_json`` writes it: one response per label given,
    each by another user, to the ``LabelQuestion`` named ``label``."""
    responses = [{"value": label, "user_id": f"user-{n}"} for n, label in enumerate(labels)]
    return {
        "id": record_id,
        "fields": {"text": text},
        "metadata": metadata or {},
        "suggestions": {}
        if suggested is None
        else {"label": {"value": suggested, "score": 0.7, "agent": "model-1"}},
        "responses": {"label": responses} if responses else {},
        "vectors": {},
        "status": "completed" if responses else "pending",
        "_server_id": f"server-{record_id}",
    }


def argilla_tags_record(
    record_id: str,
    text: str,
    *selections: list[str] | None,
    suggested: list[str] | None = None,
) -> dict[str, Any]:
    """An Argilla 2.x record of a dataset with a ``MultiLabelQuestion`` named ``tags``: one
    response per selection, each by another user (``[]``: none of the labels applies)."""
    responses = [
        {"value": selection, "user_id": f"user-{n}"} for n, selection in enumerate(selections)
    ]
    suggestion = {
        "value": suggested,
        "score": [round(0.9 - 0.2 * n, 1) for n in range(len(suggested or ()))],
        "agent": "setfit-tags-1",
    }
    return {
        "id": record_id,
        "fields": {"text": text},
        "metadata": {},
        "suggestions": {} if suggested is None else {"tags": suggestion},
        "responses": {"tags": responses} if responses else {},
        "vectors": {},
        "status": "completed" if responses else "pending",
        "_server_id": f"server-{record_id}",
    }


def argilla_v1_record(
    record_id: str,
    text: str,
    annotation: str | list[str] | None,
    status: str = "Validated",
    multi_label: bool = False,
    **metadata: Any,
) -> dict[str, Any]:
    """An Argilla 1.x ``TextClassificationRecord`` as ``to_datasets().to_json()`` writes it."""
    return {
        "text": text,
        "inputs": {"text": text},
        "prediction": [{"label": "a", "score": 0.5}, {"label": "b", "score": 0.5}],
        "prediction_agent": "model-1",
        "annotation": annotation,
        "annotation_agent": "rita" if annotation is not None else None,
        "vectors": None,
        "multi_label": multi_label,
        "explanation": None,
        "id": record_id,
        "metadata": metadata,
        "status": status,
        "event_timestamp": "2023-01-20T20:11:53.528354",
        "metrics": {"text_length": len(text)},
    }
