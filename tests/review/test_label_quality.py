"""Likely label errors are found out of fold, and suspect reviewed labels get a second review."""

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from tests.corpus import corpus_rows
from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.pipeline.ingestion import ingest_batch
from textloop.review.label_quality import (
    check_reviewed_labels,
    likely_label_errors,
    out_of_fold_probabilities,
)
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import ReviewTask, TaskSource

SECOND_REVIEW = TaskSource.SECOND_REVIEW


def test_the_confident_joint_flags_a_label_that_another_class_clearly_owns() -> None:
    classes = ["a", "b"]
    probabilities = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9], [0.88, 0.12]])
    labels = ["a", "a", "b", "b", "b"]  # the last row looks like an "a"
    (suspect,) = likely_label_errors(probabilities, labels, classes)
    assert (suspect.index, suspect.given, suspect.likely) == (4, "b", "a")
    assert suspect.margin == 0.88 - 0.12


def test_out_of_fold_scores_come_from_models_that_never_saw_the_text() -> None:
    rows = corpus_rows(per_label=20)
    texts, labels = [t for t, _ in rows], [label for _, label in rows]
    labels[0] = next(other for other in ("sport", "finance", "weather") if other != labels[0])
    probabilities, classes = out_of_fold_probabilities(texts, labels, "ngram", folds=5)
    assert probabilities.shape == (60, 3) and np.allclose(probabilities.sum(axis=1), 1.0)
    flagged = {s.index for s in likely_label_errors(probabilities, labels, classes)}
    assert 0 in flagged  # a model trained on the other folds does not believe the flip


@pytest.mark.storage
def test_a_suspect_reviewed_label_goes_to_a_second_review(
    store: Store, settings: Settings, corpus_csv: Path
) -> None:
    ingest_batch(store, settings, "topics", read_labelled_file(corpus_csv), "corpus")
    with store.session() as session:
        classifier = get_classifier(session, "topics")
        for text, label in (
            ("the striker scored a goal in the league match", "finance"),  # wrong
            ("the bank raised interest for investors", "finance"),  # right
        ):
            session.add(
                ReviewTask(
                    classifier_id=classifier.id,
                    source="implicit",
                    text=text,
                    status="done",
                    final_label=label,
                )
            )
            session.flush()
    result = check_reviewed_labels(store, "topics")
    assert result.checked == 2 and len(result.flagged) == 1
    with store.session() as session:
        tasks = {(t.text[:12], t.source, t.status) for t in session.scalars(select(ReviewTask))}
        second = session.scalars(select(ReviewTask).where(ReviewTask.source == SECOND_REVIEW)).one()
    assert ("the striker ", "implicit", "flagged") in tasks
    assert ("the bank rai", "implicit", "done") in tasks
    assert (second.reported_label, second.suggested_label, second.status) == (
        "finance",
        "sport",
        "open",
    )
