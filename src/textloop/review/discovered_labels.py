"""Turning a discovered cluster into a label: the admin names it, and its texts go to review with
the new name suggested, in one transaction.

The label is added the one way labels are (``new_labels.add_label``: a name that is empty, too
long or a label already is refused, and nothing changes). Each distinct text of the cluster then
gets one task suggesting the name, and never a second one: a text whose task is still open (the
model's own doubt usually opened one) has that task's suggestion changed to the name instead (to
a set holding it, for a multi-label classifier), and keeps its source; a text in a conflict, or
one reviewers have settled on a label, is left as it is. Every other text gets a new task of
source ``discovered``, on its newest prediction. Reviewers confirm or correct the suggestion
like any other, and the next retrain learns the label from what they agree on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.errors import InvalidRequest
from textloop.review.new_labels import add_label
from textloop.store.queries import get_classifier
from textloop.store.stored_labels import Mode, decode, encode
from textloop.store.tables import Prediction, ReviewStatus, ReviewTask, TaskSource

CHUNK = 500  # values in one IN (...): well under every database's limit on parameters


@dataclass(frozen=True)
class LabelAdded:
    label: str
    texts: int  # distinct texts of the cluster
    opened: int  # new review tasks (source ``discovered``)
    resuggested: int  # open tasks that now suggest the new label
    left: int  # texts in a conflict, or settled on a label already: left as they are

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "texts": self.texts,
            "opened": self.opened,
            "resuggested": self.resuggested,
            "left": self.left,
        }


def add_label_from_cluster(
    session: Session, name: str, label: str, prediction_ids: Sequence[str]
) -> LabelAdded:
    """Add ``label`` to classifier ``name`` and send the texts of ``prediction_ids`` (a
    cluster's) to review suggesting it; stored when the caller commits. Ids that are not the
    classifier's predictions are refused before anything changes."""
    classifier = get_classifier(session, name)
    wanted = list(dict.fromkeys(prediction_id.strip() for prediction_id in prediction_ids))
    wanted = [prediction_id for prediction_id in wanted if prediction_id]
    if not wanted:
        raise InvalidRequest("a cluster's predictions are needed to add a label from it")
    predictions = {
        prediction.id: prediction
        for part in _chunks(wanted)
        for prediction in session.scalars(
            select(Prediction).where(
                Prediction.id.in_(part), Prediction.classifier_id == classifier.id
            )
        )
    }
    unknown = [prediction_id for prediction_id in wanted if prediction_id not in predictions]
    if unknown:
        raise InvalidRequest(
            f"{len(unknown)} of the {len(wanted)} predictions are not predictions of "
            f"{name!r} (the first: {unknown[0][:40]!r})",
            field="predictions",
        )
    label = add_label(session, classifier, label)
    newest: dict[str, Prediction] = {}
    for prediction in sorted(predictions.values(), key=lambda p: p.created_at, reverse=True):
        newest.setdefault(prediction.text, prediction)
    sets = classifier.mode == Mode.MULTI_LABEL
    opened = resuggested = left = 0
    handled: set[str] = set()
    tasks = list(tasks_of_texts(session, classifier.id, list(newest), lock=True))
    for task in sorted(tasks, key=lambda task: task.status != ReviewStatus.OPEN):  # open first
        if task.text in handled:
            continue
        if task.status == ReviewStatus.OPEN:
            given = decode(task.suggested_label or "") if sets else ()
            task.suggested_label = encode([*given, label])
            resuggested += 1
            handled.add(task.text)
        elif task.status == ReviewStatus.CONFLICT or _settled(task):
            left += 1
            handled.add(task.text)
    for text, prediction in newest.items():
        if text in handled:
            continue
        session.add(
            ReviewTask(
                classifier_id=classifier.id,
                source=TaskSource.DISCOVERED,
                text=text,
                suggested_label=label,
                prediction_id=prediction.id,
            )
        )
        opened += 1
    session.flush()
    return LabelAdded(label, len(newest), opened, resuggested, left)


def tasks_of_texts(
    session: Session, classifier_id: int, texts: Sequence[str], lock: bool = False
) -> Iterator[ReviewTask]:
    """Every review task of the classifier whose text is one of ``texts``, oldest first within
    each few hundred texts (one query each); with ``lock``, read again under a row lock, as a
    reviewer's decision reads its task, so that neither changes a task the other just did."""
    for part in _chunks(texts):
        query = (
            select(ReviewTask)
            .where(ReviewTask.classifier_id == classifier_id, ReviewTask.text.in_(part))
            .order_by(ReviewTask.created_at, ReviewTask.id)
        )
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        yield from session.scalars(query)


def dealt_with(task: ReviewTask, known: Iterable[str]) -> bool:
    """Whether ``task``'s text needs no new label found for it: reviewers settled it on a label,
    or it suggests or settled on a label outside ``known`` (the model's labels), one added
    since for it."""
    names = set(known)
    given = [*decode(task.suggested_label or ""), *decode(task.final_label or "")]
    return _settled(task) or any(name not in names for name in given)


def _settled(task: ReviewTask) -> bool:
    """Reviewers agreed on a label (for a multi-label classifier, a set that is not empty)."""
    return task.status == ReviewStatus.DONE and bool(task.final_label)


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])
