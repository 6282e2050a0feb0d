"""Which extra columns a training reports test slices by: the classifier's setting or its own.

Slice columns are a classifier setting (``classifiers.slice_columns``). A training that names
columns checks them against its dataset version (a misspelt one is refused before any work) and
stores them as the setting; one that names none, such as an automatic retrain, uses the setting,
keeping only the columns its dataset version has, so that a later upload without a column does not
stop the loop.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.data.datasets import load_split_columns
from textloop.errors import InvalidRequest
from textloop.store.tables import Classifier, DatasetVersion, Example

MAX_SLICE_COLUMNS = 20


def resolve_slice_columns(
    session: Session, dataset: DatasetVersion, given: Sequence[str] | None
) -> tuple[str, ...]:
    """The columns to slice by; ``given`` (checked, then stored) or else the stored setting."""
    classifier = session.get(Classifier, dataset.classifier_id)
    assert classifier is not None
    if given is None:
        stored = classifier.slice_columns or []
        present = extra_columns(session, dataset.id)
        return tuple(column for column in stored if column in present)
    columns = normalised(given)
    if columns:  # a misspelt column is bad input: refuse it before any work
        load_split_columns(session, dataset.id, "test", columns)
    classifier.slice_columns = list(columns) or None
    return columns


def store_slice_columns(classifier: Classifier, columns: Sequence[str]) -> None:
    """Set (or with no columns, clear) the classifier's slice columns."""
    classifier.slice_columns = list(normalised(columns)) or None


def normalised(columns: Sequence[str]) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(column.strip() for column in columns if column.strip()))
    if len(cleaned) > MAX_SLICE_COLUMNS:
        raise InvalidRequest(
            f"at most {MAX_SLICE_COLUMNS} slice columns, got {len(cleaned)}", field="slice_columns"
        )
    return cleaned


def extra_columns(session: Session, dataset_version_id: int) -> set[str]:
    """The names of the extra columns any row of the dataset version has."""
    found: set[str] = set()
    for extras in session.scalars(
        select(Example.extras).where(
            Example.dataset_version_id == dataset_version_id, Example.extras.is_not(None)
        )
    ):
        found.update(extras or {})
    return found
