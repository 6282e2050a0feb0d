"""A review queue for the tests of this package: classifier ``topics`` with three open tasks and
reviewers ann (1), bob (2) and cy (3), and the steps a reviewer takes on it."""

from pathlib import Path

import pytest

from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.pipeline.ingestion import ingest_batch
from textloop.review.assignments import claim_next, decide
from textloop.security.accounts import create_user
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import ReviewTask


@pytest.fixture
def queue(store: Store, settings: Settings, corpus_csv: Path) -> Store:
    """Classifier ``topics`` with three open tasks and reviewers ann (1), bob (2), cy (3)."""
    ingest_batch(store, settings, "topics", read_labelled_file(corpus_csv), "corpus")
    with store.session() as session:
        classifier = get_classifier(session, "topics")
        for number in range(3):
            session.add(
                ReviewTask(
                    classifier_id=classifier.id,
                    source="implicit",
                    text=f"text {number}",
                    suggested_label="sport",
                    confidence=0.4,
                )
            )
            session.flush()
        for name in ("ann", "bob", "cy"):
            create_user(session, f"{name}@example.com", "a long password", "reviewer")
    return store


def claim(store: Store, user: int) -> str | None:
    with store.session() as session:
        task = claim_next(session, "topics", user)
        return task.id if task else None


def settle(store: Store, task: str, user: int, label: str | None) -> str:
    with store.session() as session:
        return decide(session, task, user, label).status


def set_overlap(store: Store, overlap: int) -> None:
    with store.session() as session:
        get_classifier(session, "topics").review_overlap = overlap
