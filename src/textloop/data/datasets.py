"""Turns a (text, label[, split]) table into an immutable, content-addressed dataset version.

Rows with an empty text or label are dropped and counted; a row that repeats an earlier one of
the same batch exactly (text as normalised, label, split and extras) is stored once and counted as
a duplicate. The version's hash covers the sorted distinct rows, so ingesting the same content
again, in any order and however often a row repeats, returns the version that already exists.
(A text repeated with another label is two rows: a conflict that validation reports.)
Each version records the statistics of the batch as received and its anomalies against the
classifier's schema, which the first version defines. The ``ingest`` pipeline step
(``pipeline.components.ingest``) calls this and records the run.

A multi-label classifier's table holds encoded label sets (``label_sets``, as the readers make
them): there an empty label is the empty set, "no label applies", and its row is kept; only an
empty text drops a row. Its ``labels`` are the names its sets use. A classifier's mode is fixed
when it is created: a batch read in the other mode is refused (``classifier_for``) before
anything is written. Once a multi-label classifier has a dataset version its labels are closed:
a name it does not know is refused naming the row, before anything is written, unless the
ingest adds labels (``new_labels``); a single-label classifier takes a new label and reports it
as the ``unknown_label`` anomaly, as it always has.

The file's other columns (``extra:<name>`` in the table, see ``readers``) are stored with every
example in ``Example.extras`` and read back by ``load_split_columns``, for evaluation slices. They
count in the hash only when there are some: a file without extra columns hashes as it always has.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlalchemy import exists, func, insert, select
from sqlalchemy.orm import Session

from textloop.data.label_sets import Mode, decode, encode, names_of
from textloop.data.readers import EXTRA_PREFIX, extra_columns
from textloop.data.row_limits import too_long
from textloop.data.schema import Schema
from textloop.data.splits import assign_split, normalize_text, text_hash
from textloop.data.statistics import TextStatistics
from textloop.data.validation import validate_rows
from textloop.errors import Conflict, DataError, Remedy
from textloop.store.queries import get_or_create_classifier, next_version
from textloop.store.tables import Classifier, DatasetVersion, Example


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
    extra_columns: list[str] = field(default_factory=list)
    content_hash: str = ""
    duplicates: int = 0  # rows of the batch that repeated an earlier row and were not stored


class StaleBase(Conflict):
    """A dataset built on a version that is no longer the newest (``ingest_table``)."""

    code = "stale_base"


ADD_LABELS = Remedy(
    cli="to add a label, ingest with --new-labels",
    api="to add a label, upload with new_labels=true",
)


def classifier_for(session: Session, name: str, mode: Mode | None) -> Classifier:
    """The classifier ``name``, created in ``mode`` if new; a batch read in ``mode`` may not
    join an existing classifier of the other mode. ``mode`` None: the table is already in the
    classifier's own form (reviewed labels laid over its rows)."""
    check_mode(session, name, mode)
    classifier = get_or_create_classifier(session, name, mode)
    if mode is not None and classifier.mode != mode:  # created meanwhile, in the other mode
        raise _other_mode(name, classifier.mode, mode)
    return classifier


def check_mode(session: Session, name: str, mode: Mode | None) -> None:
    """Refuse a batch read in ``mode`` for an existing classifier of the other mode, before
    the file is read (``classifier_for`` checks again as it stores)."""
    found = session.scalar(select(Classifier.mode).where(Classifier.name == name))
    if mode is not None and found is not None and found != mode:
        raise _other_mode(name, found, mode)


def _other_mode(name: str, has: str, read: Mode) -> DataError:
    multi = read is Mode.MULTI_LABEL
    return DataError(
        f"classifier {name!r} is {has}, fixed when it was created; this file was read as {read}",
        remedy=Remedy(
            cli="ingest it without --multi-label, or into a new classifier"
            if multi
            else "ingest it with --multi-label",
            api="upload it without multi_label=true, or to a new classifier"
            if multi
            else "upload it with multi_label=true",
        ),
    )


def ingest_table(
    session: Session,
    classifier_name: str,
    table: pa.Table,
    source: str,
    fractions: dict[str, float],
    built_on: int | None = None,
    mode: Mode | None = None,
    new_labels: bool = False,
) -> IngestResult:
    """Store ``table`` as the classifier's next dataset version (or find the version with the
    same content). ``built_on``: the version the table was derived from (a merge of reviewed
    labels); ``StaleBase`` when a newer one arrived meanwhile, whose rows the table lacks.
    ``mode``: how the table was read (``classifier_for``). ``new_labels``: a multi-label
    classifier that has a version may take names it does not know yet (else they are refused,
    naming the row). Ingests of one classifier take turns (its row is locked), so the checks
    and the new version's number hold until the transaction commits."""
    classifier = classifier_for(session, classifier_name, mode)
    multi_label = classifier.mode == Mode.MULTI_LABEL
    rows, dropped, duplicates = _clean_rows(table, fractions, source, multi_label)
    extras = extra_columns(table)
    if not rows:
        wanted = "a text" if multi_label else "both a text and a label"
        raise DataError(f"{source}: no rows with {wanted}")
    raw = list(
        zip(table.column("text").to_pylist(), table.column("label").to_pylist(), strict=True)
    )
    digest = _content_hash(rows)
    session.execute(select(Classifier.id).where(Classifier.id == classifier.id).with_for_update())
    if built_on is not None:
        newest = session.scalar(
            select(func.max(DatasetVersion.version)).where(
                DatasetVersion.classifier_id == classifier.id
            )
        )
        if newest != built_on:
            raise StaleBase(
                f"dataset version {newest} of {classifier_name!r} arrived after version "
                f"{built_on}, which this data was built on"
            )
    if multi_label and not new_labels:
        _refuse_unknown_labels(session, classifier, table, source)
    existing = session.scalar(
        select(DatasetVersion).where(
            DatasetVersion.classifier_id == classifier.id, DatasetVersion.content_hash == digest
        )
    )
    if existing is not None:
        return _result(
            classifier_name,
            existing,
            dropped,
            duplicates,
            created=False,
            labels=classifier.labels,
            extras=extras,
        )

    statistics = TextStatistics.of(raw, multi_label=multi_label)
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
    found = names_of(row["label"] for row in rows) if multi_label else [r["label"] for r in rows]
    classifier.labels = sorted(set(classifier.labels) | set(found))
    return _result(
        classifier_name,
        dataset,
        dropped,
        duplicates,
        created=True,
        labels=classifier.labels,
        extras=extras,
    )


def _clean_rows(
    table: pa.Table, fractions: dict[str, float], source: str, multi_label: bool = False
) -> tuple[list[dict[str, Any]], int, int]:
    """Distinct normalised rows ready for ``Example``, and the counts of rows dropped as empty
    and as duplicates; ``extras`` is None when the table has no extras. ``multi_label``: the
    labels are encoded sets, kept in their canonical form, and an empty one is kept.

    An extra value is stored exactly as read: surrounding whitespace and an empty string stay
    (an empty CSV cell is an empty string); only a null (JSON ``null``, a missing key, a Parquet
    null) is no value.
    """
    texts = table.column("text").to_pylist()
    labels = table.column("label").to_pylist()
    splits = table.column("split").to_pylist() if "split" in table.column_names else None
    extras = {name: table.column(EXTRA_PREFIX + name).to_pylist() for name in extra_columns(table)}
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, ...]] = set()
    dropped = duplicates = 0
    for index, (raw_text, raw_label) in enumerate(zip(texts, labels, strict=True)):
        text = normalize_text(raw_text or "")
        label = _label_set(raw_label, source, index) if multi_label else (raw_label or "").strip()
        if not text or not (label or multi_label):
            dropped += 1
            continue
        reason = too_long(text, label, multi_label)  # the readers refuse or skip these first
        if reason is not None:
            raise DataError(f"{source}: row {index + 1}: {reason}")
        hashed = text_hash(text)
        split = (splits[index] if splits else None) or assign_split(hashed, fractions)
        row_extras = {name: values[index] for name, values in extras.items()} if extras else None
        row: dict[str, Any] = {
            "text": text,
            "label": label,
            "text_hash": hashed,
            "split": split,
            "extras": row_extras,
        }
        key = _row_key(row)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        rows.append(row)
    return rows, dropped, duplicates


def _refuse_unknown_labels(
    session: Session, classifier: Classifier, table: pa.Table, source: str
) -> None:
    """Refuse the first row (numbered from 1, as the anomalies' examples are) that would store a
    name the multi-label classifier does not know, once it has a version: its first version
    defines its labels. They are read again under the lock, taken after the classifier was
    loaded."""
    if not session.scalar(select(exists().where(DatasetVersion.classifier_id == classifier.id))):
        return
    known = session.scalar(select(Classifier.labels).where(Classifier.id == classifier.id)) or []
    texts = table.column("text").to_pylist()
    for index, stored in enumerate(table.column("label").to_pylist()):
        if not normalize_text(texts[index] or ""):
            continue  # dropped, not stored
        unknown = [name for name in decode(_label_set(stored, source, index)) if name not in known]
        if unknown:
            raise DataError(
                f"{source}: row {index + 1}: {unknown[0]!r} is not one of the labels of "
                f"multi-label classifier {classifier.name!r} ({', '.join(known) or 'none'})",
                remedy=ADD_LABELS,
            )


def _label_set(stored: str | None, source: str, index: int) -> str:
    """An encoded set in its canonical form (sorted, distinct), whoever encoded it."""
    names = [name.strip() for name in decode(stored or "")]
    if not all(names):
        raise DataError(f"{source}: row {index + 1}: a label name is empty")
    return encode(names)


def _content_hash(rows: list[dict[str, Any]]) -> str:
    """SHA-256 of the sorted rows; extras join the key only for rows that have them.

    A row without extras hashes exactly as before extras existed, so the hashes of datasets
    ingested earlier still match. Extras go in as canonical JSON, which escapes the separators.
    """
    digest = hashlib.sha256()
    for key in sorted(_row_key(row) for row in rows):
        digest.update("\x1f".join(key).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _row_key(row: dict[str, Any]) -> tuple[str, ...]:
    """What makes a row itself: two rows with the same key are one row."""
    key: tuple[str, ...] = (row["text_hash"], row["label"], row["split"])
    if row.get("extras") is not None:
        key += (json.dumps(row["extras"], sort_keys=True, ensure_ascii=False),)
    return key


def _result(
    name: str,
    dataset: DatasetVersion,
    dropped: int,
    duplicates: int,
    *,
    created: bool,
    labels: list[str],
    extras: list[str],
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
        extra_columns=list(extras),
        content_hash=dataset.content_hash,
        duplicates=duplicates,
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


def load_split_columns(
    session: Session, dataset_version_id: int, split: str, columns: Sequence[str]
) -> dict[str, list[str | None]]:
    """Values of the named extra columns for one split, in the order ``load_splits`` gives.

    A column some rows lack (an older ingest, say) reads as None there; a column that no row of
    the dataset version has raises ``DataError`` naming it and the extra columns that exist.
    """
    wanted = list(dict.fromkeys(columns))
    found: set[str] = set()
    values: dict[str, list[str | None]] = {name: [] for name in wanted}
    rows = session.execute(
        select(Example.split, Example.extras)
        .where(Example.dataset_version_id == dataset_version_id)
        .order_by(Example.id)
    )
    for row_split, extras in rows:
        extras = extras or {}
        found.update(extras)
        if row_split == split:
            for name in wanted:
                values[name].append(extras.get(name))
    missing = [name for name in wanted if name not in found]
    if missing:
        dataset = session.get(DatasetVersion, dataset_version_id)
        which = (
            f"dataset version {dataset.version}"
            if dataset is not None
            else f"dataset version id {dataset_version_id}"
        )
        names = ", ".join(repr(name) for name in missing)
        existing = (
            f"its extra columns are: {', '.join(sorted(found))}"
            if found
            else "it has no extra columns"
        )
        noun = "column" if len(missing) == 1 else "columns"
        raise DataError(f"{which} has no {noun} {names}; {existing}", field="columns")
    return values


def with_fixed_test_split(
    table: pa.Table, test_table: pa.Table, fractions: dict[str, float]
) -> pa.Table:
    """Mark every row of ``test_table`` as test, and split ``table`` by hash among the rest.

    For data that comes with its own test file: the test rows stay exactly the user's, the other
    rows keep the configured train/validation proportions. The extra columns of both tables are
    kept; a column only one of them has is null in the other's rows.
    """
    development = {name: weight for name, weight in fractions.items() if name != "test"}
    texts = table.column("text").to_pylist()
    splits = [assign_split(text_hash(normalize_text(text or "")), development) for text in texts]
    extras = list(dict.fromkeys(extra_columns(table) + extra_columns(test_table)))
    first = _with_extras(table, pa.array(splits, pa.string()), extras)
    second = _with_extras(test_table, pa.array(["test"] * test_table.num_rows, pa.string()), extras)
    return pa.concat_tables([first, second])


def _with_extras(table: pa.Table, splits: pa.Array, extras: list[str]) -> pa.Table:
    columns: dict[str, Any] = {
        "text": table.column("text").cast(pa.string()),
        "label": table.column("label").cast(pa.string()),
        "split": splits,
    }
    for name in extras:
        column = EXTRA_PREFIX + name
        columns[column] = (
            table.column(column).cast(pa.string())
            if column in table.column_names
            else pa.nulls(table.num_rows, pa.string())
        )
    return pa.table(columns)
