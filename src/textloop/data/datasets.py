"""Turns a (text, label[, split]) table into an immutable, content-addressed dataset version.

Rows with an empty text or label are dropped and counted; the version's hash covers the sorted
rows, so ingesting the same content again, in any order, returns the version that already exists.
Each version records the statistics of the batch as received and its anomalies against the
classifier's schema, which the first version defines.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from textloop.data.schema import Schema
from textloop.data.splits import assign_split, normalize_text, text_hash
from textloop.data.statistics import TextStatistics
from textloop.data.validation import validate_rows
from textloop.errors import DataError
from textloop.metadata.recorder import dataset_uri, record_artifact, record_execution
from textloop.store.queries import get_or_create_classifier, next_version
from textloop.store.tables import DatasetVersion, Example, utcnow

MAX_TEXT_LENGTH = 10_000
MAX_LABEL_LENGTH = 200


@dataclass(frozen=True)
class IngestResult:
    classifier: str
    version: int
    dataset_version_id: int
    rows: int
    dropped: int
    created: bool
    split_counts: dict[str, int]
    labels: list[str]
    anomalies: list[dict[str, Any]]


def ingest_table(
    session: Session,
    classifier_name: str,
    table: pa.Table,
    source: str,
    fractions: dict[str, float],
) -> IngestResult:
    started = utcnow()
    rows, dropped = _clean_rows(table, fractions)
    if not rows:
        raise DataError(f"{source}: no rows with both a text and a label")
    raw = list(
        zip(table.column("text").to_pylist(), table.column("label").to_pylist(), strict=True)
    )
    digest = _content_hash(rows)
    classifier = get_or_create_classifier(session, classifier_name)
    existing = session.scalar(
        select(DatasetVersion).where(
            DatasetVersion.classifier_id == classifier.id, DatasetVersion.content_hash == digest
        )
    )
    if existing is not None:
        return _result(classifier_name, existing, dropped, created=False, labels=classifier.labels)

    statistics = TextStatistics.of(raw)
    if classifier.data_schema is None:
        classifier.data_schema = Schema.infer(statistics).to_dict()
    anomalies = validate_rows(raw, Schema.from_dict(classifier.data_schema))
    split_counts = dict(Counter(row["split"] for row in rows))
    dataset = DatasetVersion(
        classifier_id=classifier.id,
        version=next_version(
            session, DatasetVersion.version, DatasetVersion.classifier_id, classifier.id
        ),
        content_hash=digest,
        source=source,
        row_count=len(rows),
        split_counts=split_counts,
        statistics=statistics.to_dict(),
        anomalies=[anomaly.to_dict() for anomaly in anomalies],
    )
    session.add(dataset)
    session.flush()
    session.execute(insert(Example), [{**row, "dataset_version_id": dataset.id} for row in rows])
    classifier.labels = sorted(set(classifier.labels) | {row["label"] for row in rows})
    artifact = record_artifact(
        session,
        classifier.id,
        "dataset",
        dataset_uri(classifier.name, dataset.version),
        digest,
        {"dataset_version_id": dataset.id, "rows": len(rows), "split_counts": split_counts},
    )
    record_execution(
        session,
        classifier.id,
        "ingest",
        {"source": source, "dropped": dropped},
        started,
        outputs=[artifact],
    )
    return _result(classifier_name, dataset, dropped, created=True, labels=classifier.labels)


def _clean_rows(table: pa.Table, fractions: dict[str, float]) -> tuple[list[dict[str, str]], int]:
    texts = table.column("text").to_pylist()
    labels = table.column("label").to_pylist()
    splits = table.column("split").to_pylist() if "split" in table.column_names else None
    rows: list[dict[str, str]] = []
    dropped = 0
    for index, (raw_text, raw_label) in enumerate(zip(texts, labels, strict=True)):
        text = normalize_text(raw_text or "")
        label = (raw_label or "").strip()
        if not text or not label:
            dropped += 1
            continue
        if len(text) > MAX_TEXT_LENGTH:
            raise DataError(
                f"row {index + 1}: text is {len(text)} characters, the limit is {MAX_TEXT_LENGTH}"
            )
        if len(label) > MAX_LABEL_LENGTH:
            raise DataError(f"row {index + 1}: label is longer than {MAX_LABEL_LENGTH} characters")
        hashed = text_hash(text)
        split = (splits[index] if splits else None) or assign_split(hashed, fractions)
        rows.append({"text": text, "label": label, "text_hash": hashed, "split": split})
    return rows, dropped


def _content_hash(rows: list[dict[str, str]]) -> str:
    digest = hashlib.sha256()
    for key in sorted((row["text_hash"], row["label"], row["split"]) for row in rows):
        digest.update("\x1f".join(key).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _result(
    name: str, dataset: DatasetVersion, dropped: int, *, created: bool, labels: list[str]
) -> IngestResult:
    return IngestResult(
        classifier=name,
        version=dataset.version,
        dataset_version_id=dataset.id,
        rows=dataset.row_count,
        dropped=dropped,
        created=created,
        split_counts=dict(dataset.split_counts),
        labels=list(labels),
        anomalies=list(dataset.anomalies or []),
    )


def load_splits(
    session: Session, dataset_version_id: int
) -> dict[str, tuple[list[str], list[str]]]:
    """Texts and labels of one dataset version, grouped by split, in a stable order."""
    result: dict[str, tuple[list[str], list[str]]] = {}
    rows = session.execute(
        select(Example.split, Example.text, Example.label)
        .where(Example.dataset_version_id == dataset_version_id)
        .order_by(Example.id)
    )
    for split, text, label in rows:
        texts, labels = result.setdefault(split, ([], []))
        texts.append(text)
        labels.append(label)
    return result


def with_fixed_test_split(
    table: pa.Table, test_table: pa.Table, fractions: dict[str, float]
) -> pa.Table:
    """Mark every row of ``test_table`` as test, and split ``table`` by hash among the rest.

    For data that comes with its own test file: the test rows stay exactly the user's, the other
    rows keep the configured train/validation proportions.
    """
    development = {name: weight for name, weight in fractions.items() if name != "test"}
    texts = table.column("text").to_pylist()
    splits = [assign_split(text_hash(normalize_text(text or "")), development) for text in texts]
    first = pa.table(
        {"text": table.column("text"), "label": table.column("label"), "split": splits}
    )
    second = pa.table(
        {
            "text": test_table.column("text"),
            "label": test_table.column("label"),
            "split": ["test"] * test_table.num_rows,
        }
    )
    return pa.concat_tables([first, second])
