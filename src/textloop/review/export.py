"""Review decisions as a table: one row per decision, with who, what, when and where from.

Exported as CSV, JSONL or Parquet (pyarrow writes all three), for training elsewhere or audit;
or, as ``label-studio``, the review tasks themselves in Label Studio's import format
(``review.label_studio``), decisions as annotations, for a team that labels there. Each format is
one entry of ``EXPORTS``: its media type, file extension and writer.
Skips are decisions too and are included, with the decision ``skip`` and ``skipped`` ``true``
(``skipped`` tells them from the label of a classifier that has a label named ``skip``).

Texts come from anyone who can send one to be classified, and CSV files are opened in
spreadsheets, which run a cell that starts like a formula. So in CSV only, a value starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a ``'`` in front (OWASP's advice for
CSV injection), which spreadsheets show as text; JSONL and Parquet keep every value exact.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.data.label_sets import as_written
from textloop.errors import InvalidRequest
from textloop.review.assignments import NONE_FITS, NONE_WORD, SKIP_WORD, SKIPPED
from textloop.review.label_studio import (
    DEFAULT_NAMES,
    LabelStudioNames,
    label_studio_bytes,
    label_studio_tasks,
)
from textloop.store.queries import get_classifier
from textloop.store.tables import ReviewDecision, ReviewTask, User

TABLE_FORMATS = {  # the decisions table, by pyarrow
    "csv": "text/csv",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}
LABEL_STUDIO = "label-studio"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = (
    "task_id",
    "text",
    "source",
    "suggested_label",
    "decision",
    "skipped",
    "reviewer",
    "decided_at",
    "task_status",
    "final_label",
    "none_of_these",  # last: readers that take columns by position keep working
)


def decisions_table(session: Session, name: str) -> pa.Table:
    classifier = get_classifier(session, name)
    rows = session.execute(
        select(ReviewDecision, ReviewTask, User.email)
        .join(ReviewTask, ReviewTask.id == ReviewDecision.task_id)
        .join(User, User.id == ReviewDecision.user_id)
        .where(ReviewTask.classifier_id == classifier.id)
        .order_by(ReviewDecision.id)
    ).all()
    columns: dict[str, list[object]] = {column: [] for column in COLUMNS}
    for decision, task, email in rows:
        for column, value in zip(
            COLUMNS,
            (
                task.id,
                task.text,
                task.source,
                as_written(task.suggested_label),
                _decision_word(decision.label),
                "true" if decision.label == SKIPPED else "false",
                email,
                decision.created_at.isoformat(),
                task.status,
                as_written(task.final_label),
                "true" if decision.label is NONE_FITS else "false",
            ),
            strict=True,
        ):
            columns[column].append(value)
    return pa.table(
        {column: pa.array(values, type=pa.string()) for column, values in columns.items()}
    )


def _decision_word(label: str | None) -> str:
    """A label as it is; a skip and a "none of these" in words (their own columns say which)."""
    if label is NONE_FITS:
        return NONE_WORD
    return SKIP_WORD if label == SKIPPED else as_written(label) or ""


def export_bytes(table: pa.Table, file_format: str) -> bytes:
    if file_format not in TABLE_FORMATS:
        raise InvalidRequest(
            f"format must be one of {', '.join(TABLE_FORMATS)}, not {file_format!r}",
            field="format",
        )
    buffer = io.BytesIO()
    if file_format == "csv":
        pacsv.write_csv(spreadsheet_safe(table), buffer)
    elif file_format == "parquet":
        pq.write_table(table, buffer)
    else:
        for row in table.to_pylist():
            buffer.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
    return buffer.getvalue()


def spreadsheet_safe(table: pa.Table) -> pa.Table:
    """The table with every text value that a spreadsheet would run as a formula made text."""
    columns = {
        name: pa.array([_as_text(value) for value in table.column(name).to_pylist()], pa.string())
        for name in table.column_names
    }
    return pa.table(columns)


def _as_text(value: str | None) -> str | None:
    return "'" + value if value and value.startswith(FORMULA_STARTS) else value


Writer = Callable[[Session, str, LabelStudioNames], bytes]


@dataclass(frozen=True)
class ExportFormat:
    """What a review export in one format is sent as, and what writes it."""

    media_type: str
    extension: str
    write: Writer


def _decisions(file_format: str) -> Writer:
    def write(session: Session, name: str, _names: LabelStudioNames) -> bytes:
        return export_bytes(decisions_table(session, name), file_format)

    return write


def _label_studio(session: Session, name: str, names: LabelStudioNames) -> bytes:
    return label_studio_bytes(label_studio_tasks(session, name, names))


EXPORTS = {
    **{
        name: ExportFormat(media_type, name, _decisions(name))
        for name, media_type in TABLE_FORMATS.items()
    },
    LABEL_STUDIO: ExportFormat("application/json", "json", _label_studio),
}
FORMATS = {name: export.media_type for name, export in EXPORTS.items()}


def export_format(file_format: str) -> ExportFormat:
    """The export named ``file_format``; ``InvalidRequest`` listing them when there is none."""
    try:
        return EXPORTS[file_format]
    except KeyError:
        raise InvalidRequest(
            f"format must be one of {', '.join(EXPORTS)}, not {file_format!r}", field="format"
        ) from None


def export_review(
    session: Session, name: str, file_format: str, names: LabelStudioNames = DEFAULT_NAMES
) -> bytes:
    """The classifier's review export in ``file_format`` (``names``: for ``label-studio``)."""
    return export_format(file_format).write(session, name, names)
