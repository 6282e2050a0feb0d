"""Reading the review queue of a classifier, and the settled labels still to be merged."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from textloop.errors import InvalidRequest
from textloop.store.queries import get_classifier
from textloop.store.stored_labels import Mode
from textloop.store.tables import Classifier, ReviewStatus, ReviewTask

STATUSES = (ReviewStatus.OPEN, ReviewStatus.DONE, ReviewStatus.CONFLICT)


ALL = "all"  # the status that lists every status


def list_tasks(
    session: Session,
    classifier_name: str,
    status: str | None = ReviewStatus.OPEN,
    limit: int = 100,
    offset: int = 0,
) -> list[ReviewTask]:
    """Tasks of one status (``all`` or None: every status), oldest first."""
    classifier = get_classifier(session, classifier_name)
    status = None if status == ALL else status
    if status is not None and status not in STATUSES:
        raise InvalidRequest(
            f"status must be one of {', '.join(STATUSES)} or {ALL}, not {status!r}",
            field="status",
        )
    query = select(ReviewTask).where(ReviewTask.classifier_id == classifier.id)
    if status is not None:
        query = query.where(ReviewTask.status == status)
    query = query.order_by(ReviewTask.created_at, ReviewTask.id).limit(limit).offset(offset)
    return list(session.scalars(query))


def unmerged_reviewed(classifier: Classifier) -> Select[ReviewTask]:
    """Tasks reviewers settled on a label that no dataset version holds yet: what the next merge
    takes, what the retrain trigger counts, and what the label check looks at. For a
    multi-label classifier a task settled on "none of these" counts too: the empty set."""
    query = select(ReviewTask).where(
        ReviewTask.classifier_id == classifier.id,
        ReviewTask.status == ReviewStatus.DONE,
        ReviewTask.merged_into.is_(None),
    )
    if classifier.mode == Mode.MULTI_LABEL:
        return query
    return query.where(ReviewTask.final_label.is_not(None))
