"""Reviewed labels become training data: a new dataset version with reviewers' agreed labels laid
over the newest version's rows.

Before merging, the label-quality check scores the new labels out of fold and sends likely
errors to a second review instead. Every row of the newest version is carried over as it is, a
repeated text included (collapsing them would shrink the test split). A reviewed label replaces
the older label of the same text in the train and validation rows; **test rows never change**:
a review of a text the test split holds leaves it as it was (counted as ``test_kept``), so that
every version is measured against the same test rows with the same labels and blessing compares
like with like. A new text joins train or validation by its hash, never test. The one way to
change a test row is to say so: ingest a corrected file with a ``--split-column``. Merged tasks
remember the version. A multi-label classifier's reviewed sets merge alike (a task settled on
"none of these" is the empty set), after the same check, which judges a set label by label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from textloop.config import Settings
from textloop.data.datasets import StaleBase
from textloop.data.readers import EXTRA_PREFIX
from textloop.data.splits import assign_split, normalize_text, text_hash
from textloop.errors import Conflict
from textloop.models.base import ModelResources
from textloop.pipeline.ingestion import ingest_batch
from textloop.review.label_quality import check_reviewed_labels
from textloop.review.tasks import unmerged_reviewed
from textloop.store.database import Store
from textloop.store.queries import get_classifier, latest_dataset_version
from textloop.store.tables import Classifier, Example, ReviewStatus, ReviewTask

TEST = "test"
MERGE_ATTEMPTS = 3


@dataclass(frozen=True)
class Merge:
    reviewed: int  # agreed labels merged
    flagged: int  # sent to a second review instead
    relabelled: int  # rows of the older version whose label the review changed
    added: int  # texts the data did not have
    dataset_version: int | None  # the new version; None when there was nothing to merge
    test_kept: int = 0  # reviewed texts held by the test split, whose test rows stayed as they were


def unmerged_reviewed_labels(session: Any, classifier: Classifier) -> list[ReviewTask]:
    query = unmerged_reviewed(classifier).order_by(ReviewTask.created_at, ReviewTask.id)
    return list(session.scalars(query))


def merge_reviewed_labels(
    store: Store, settings: Settings, name: str, resources: ModelResources | None = None
) -> Merge:
    """Lay the reviewed labels over the newest version and store the result as the next one.
    Should a version arrive meanwhile (an upload), the merge is made again over it, so that
    its rows are never left out."""
    flagged = len(check_reviewed_labels(store, name, resources=resources).flagged)
    for _ in range(MERGE_ATTEMPTS):
        with store.session() as session:
            classifier = get_classifier(session, name)
            tasks = unmerged_reviewed_labels(session, classifier)
            if not tasks:
                return Merge(0, flagged, 0, 0, None)
            dataset = latest_dataset_version(session, classifier)
            base = dataset.version
            overlay = _overlay(session, dataset.id, tasks, settings)
            task_ids = [task.id for task in tasks]
            merged = {task.id: task.final_label for task in tasks}  # None: the empty set
        try:
            result = ingest_batch(  # reviewers pick among the classifier's labels
                store,
                settings,
                name,
                _table(overlay.rows),
                "reviewed labels",
                built_on=base,
                new_labels=True,
            )
        except StaleBase:
            continue
        with store.session() as session:
            _mark_merged(session, merged, result.dataset_version_id)
        return Merge(
            len(task_ids),
            flagged,
            overlay.relabelled,
            overlay.added,
            result.version,
            overlay.test_kept,
        )
    raise Conflict(f"{name}: new data kept arriving while reviewed labels were merged; retry")


def _mark_merged(session: Session, merged: dict[str, str | None], version_id: int) -> None:
    """Mark the tasks whose labels went into the version, each only if it still holds the label
    that was merged: one undone or re-decided meanwhile stays unmerged, and the next merge
    takes its new label."""
    by_label: dict[str | None, list[str]] = {}
    for task_id, label in merged.items():
        by_label.setdefault(label, []).append(task_id)
    for label, ids in by_label.items():
        session.execute(
            update(ReviewTask)
            .where(
                ReviewTask.id.in_(ids),
                ReviewTask.status == ReviewStatus.DONE,
                ReviewTask.merged_into.is_(None),
                ReviewTask.final_label.is_not_distinct_from(label),  # None: the empty set
            )
            .values(merged_into=version_id)
        )


@dataclass
class Overlay:
    rows: list[dict[str, Any]]
    relabelled: int
    added: int
    test_kept: int


def _overlay(session: Any, dataset_id: int, tasks: list[ReviewTask], settings: Settings) -> Overlay:
    """The rows of the dataset version with the tasks' final labels laid over them."""
    rows: list[dict[str, Any]] = []
    by_hash: dict[str, list[int]] = {}
    for example in session.scalars(
        select(Example).where(Example.dataset_version_id == dataset_id).order_by(Example.id)
    ):
        by_hash.setdefault(example.text_hash, []).append(len(rows))
        rows.append(
            {
                "text": example.text,
                "label": example.label,
                "split": example.split,
                "extras": example.extras or {},
            }
        )
    development = {
        split: weight for split, weight in dict(settings.split_fractions).items() if split != TEST
    }
    relabelled = added = test_kept = 0
    for task in tasks:
        text, label = normalize_text(task.text), stored(task.final_label)
        hashed = text_hash(text)
        indices = by_hash.get(hashed)
        if indices is None:
            split = assign_split(hashed, development)
            by_hash[hashed] = [len(rows)]
            rows.append({"text": text, "label": label, "split": split})
            added += 1
            continue
        if any(rows[i]["split"] == TEST for i in indices):
            test_kept += 1  # the yardstick does not move
        changed = [i for i in indices if rows[i]["split"] != TEST and rows[i]["label"] != label]
        for i in changed:
            rows[i]["label"] = label
        relabelled += len(changed)
    return Overlay(rows, relabelled, added, test_kept)


def stored(final_label: str | None) -> str:
    """A settled task's label as a dataset row holds it: "none of these" is a multi-label
    classifier's empty set (only those merge such tasks)."""
    return "" if final_label is None else final_label


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    names = sorted({name for row in rows for name in row.get("extras") or {}})
    columns: dict[str, Any] = {
        "text": pa.array([row["text"] for row in rows], pa.string()),
        "label": pa.array([row["label"] for row in rows], pa.string()),
        "split": pa.array([row["split"] for row in rows], pa.string()),
    }
    for name in names:
        values = [(row.get("extras") or {}).get(name) for row in rows]
        columns[EXTRA_PREFIX + name] = pa.array(values, pa.string())
    return pa.table(columns)
