"""What the load generator sends: real texts, the classifier's held-out rows or a file's lines.

Held-out (test) rows are the closest stored stand-in for production traffic: real texts of the
right length and vocabulary that the model did not train on. A classifier without test rows
falls back to all rows of its newest dataset version.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.errors import DataError, NotFound
from textloop.serving.schemas import MAX_TEXT_CHARS
from textloop.store.queries import get_classifier, latest_dataset_version
from textloop.store.tables import Example

MAX_TEXTS = 10_000  # plenty to avoid replaying one text; few enough to encode in a moment


def stored_texts(session: Session, classifier_name: str, limit: int = MAX_TEXTS) -> list[str]:
    classifier = get_classifier(session, classifier_name)
    dataset = latest_dataset_version(session, classifier)
    query = (
        select(Example.text)
        .where(Example.dataset_version_id == dataset.id)
        .order_by(Example.id)
        .limit(limit)
    )
    texts = list(session.scalars(query.where(Example.split == "test")))
    texts = texts or list(session.scalars(query))
    usable = [text for text in texts if text.strip() and len(text) <= MAX_TEXT_CHARS]
    if not usable:
        raise NotFound(
            f"classifier {classifier_name!r} has no stored texts to send; give --texts FILE"
        )
    return usable


def file_texts(path: Path, limit: int = MAX_TEXTS) -> list[str]:
    """Non-blank lines of a UTF-8 file, one text each."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    texts = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if len(line) > MAX_TEXT_CHARS:
            raise DataError(
                f"line {number} of {path} has {len(line):,} characters; "
                f"the API takes at most {MAX_TEXT_CHARS:,}"
            )
        texts.append(line)
        if len(texts) == limit:
            break
    if not texts:
        raise DataError(f"{path} has no non-blank lines to send")
    return texts
