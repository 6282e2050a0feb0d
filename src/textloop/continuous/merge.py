"""Reviewed labels become training data: a new dataset version with reviewers' agreed labels laid
over the newest version's rows.

Before merging, the label-quality check scores the new labels out of fold and sends likely
errors to a second review instead. A reviewed label replaces an older label of the same text and
keeps that row's split, so the fixed test rows stay fixed; a new text is split by its hash, which
holds a slice of the newest reviewed labels out for evaluation. Merged tasks remember the version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlalchemy import select, update

from textloop.config import Settings
from textloop.data.readers import EXTRA_PREFIX
from textloop.data.splits import assign_split, normalize_text, text_hash
from textloop.models.base import ModelResources
from textloop.pipeline.ingestion import ingest_batch
from textloop.review.label_quality import check_reviewed_labels
from textloop.review.tasks import unmerged_reviewed
from textloop.store.database import Store
from textloop.store.queries import get_classifier, latest_dataset_version
from textloop.store.tables import Example, ReviewTask


@dataclass(frozen=True)
class Merge:
    reviewed: int  # agreed labels merged
    flagged: int  # sent to a second review instead
    relabelled: int  # rows of the older version whose label the review changed
    added: int  # texts the data did not have
    dataset_version: int | None  # the new version; None when there was nothing to merge


def unmerged_reviewed_labels(session: Any, classifier_id: int) -> list[ReviewTask]:
    query = unmerged_reviewed(classifier_id).order_by(ReviewTask.created_at, ReviewTask.id)
    return list(session.scalars(query))


def merge_reviewed_labels(
    store: Store, settings: Settings, name: str, resources: ModelResources | None = None
) -> Merge:
    flagged = len(check_reviewed_labels(store, name, resources=resources).flagged)
    with store.session() as session:
        classifier = get_classifier(session, name)
        tasks = unmerged_reviewed_labels(session, classifier.id)
        if not tasks:
            return Merge(0, flagged, 0, 0, None)
        dataset = latest_dataset_version(session, classifier)
        rows: dict[str, dict[str, Any]] = {
            example.text_hash: {
                "text": example.text,
                "label": example.label,
                "split": example.split,
                "extras": example.extras or {},
            }
            for example in session.scalars(
                select(Example).where(Example.dataset_version_id == dataset.id).order_by(Example.id)
            )
        }
        relabelled = added = 0
        for task in tasks:
            text = normalize_text(task.text)
            hashed = text_hash(text)
            row = rows.get(hashed)
            if row is None:
                split = assign_split(hashed, dict(settings.split_fractions))
                rows[hashed] = {"text": text, "label": task.final_label, "split": split}
                added += 1
            elif row["label"] != task.final_label:
                row["label"] = task.final_label
                relabelled += 1
        task_ids = [task.id for task in tasks]
    result = ingest_batch(store, settings, name, _table(list(rows.values())), "reviewed labels")
    with store.session() as session:
        session.execute(
            update(ReviewTask)
            .where(ReviewTask.id.in_(task_ids))
            .values(merged_into=result.dataset_version_id)
        )
    return Merge(len(task_ids), flagged, relabelled, added, result.version)


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
