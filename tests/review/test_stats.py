"""Reviewer statistics: counts, speed, agreement with each other and with the model."""

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.pipeline.ingestion import ingest_batch
from textloop.review.assignments import SKIPPED
from textloop.review.stats import reviewer_stats
from textloop.security.accounts import create_user
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import ReviewDecision, ReviewTask, utcnow

pytestmark = pytest.mark.storage


@pytest.fixture
def reviewed(store: Store, settings: Settings, corpus_csv: Path) -> Store:
    """Four tasks suggested 'sport'; ann and bob label all four and disagree once."""
    ingest_batch(store, settings, "topics", read_labelled_file(corpus_csv), "corpus")
    start = utcnow()
    with store.session() as session:
        classifier = get_classifier(session, "topics")
        ann = create_user(session, "ann@example.com", "a long password", "reviewer").id
        bob = create_user(session, "bob@example.com", "a long password", "reviewer").id
        labels = {
            ann: ["sport", "sport", "finance", "weather"],
            bob: ["sport", "sport", "finance", "finance"],
        }
        for index in range(4):
            task = ReviewTask(
                classifier_id=classifier.id,
                source="implicit",
                text=f"t{index}",
                suggested_label="sport",
            )
            session.add(task)
            session.flush()
            for user, offset in ((ann, 30), (bob, 50)):
                session.add(
                    ReviewDecision(
                        task_id=task.id,
                        user_id=user,
                        label=labels[user][index],
                        created_at=start + timedelta(seconds=offset * index),
                    )
                )
        extra = ReviewTask(classifier_id=classifier.id, source="pool", text="skipped")
        session.add(extra)
        session.flush()
        session.add(
            ReviewDecision(
                task_id=extra.id,
                user_id=ann,
                label=SKIPPED,
                created_at=start + timedelta(hours=1),  # after a long pause
            )
        )
    return store


def test_counts_speed_and_agreement_per_reviewer(reviewed: Store) -> None:
    with reviewed.session() as session:
        stats = {s.email: s for s in reviewer_stats(session)}
        assert len(session.scalars(select(ReviewDecision)).all()) == 9
    ann, bob = stats["ann@example.com"], stats["bob@example.com"]
    assert (ann.decisions, ann.skips, bob.decisions, bob.skips) == (4, 1, 4, 0)
    assert (ann.median_seconds, bob.median_seconds) == (30.0, 50.0)  # the pause is left out
    assert (ann.agrees_with_model, bob.agrees_with_model) == (0.5, 0.5)
    # agreement on 3 of 4: observed 0.75, chance 0.5*0.5 + 0.25*0.5 + 0.25*0 = 0.375
    assert ann.kappa == bob.kappa == pytest.approx((0.75 - 0.375) / (1 - 0.375))
    assert ann.shared_tasks == bob.shared_tasks == 4
