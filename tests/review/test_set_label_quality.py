"""A multi-label classifier's reviewed sets are checked label by label: a set whose presence or
absence of some label is confidently contradicted out of fold goes to a second review suggesting
the set with those labels flipped, from ``review check`` and before a retrain merges it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import select

from tests.multi_label import MULTI
from tests.processes import environment, run_cli
from textloop.config import Settings
from textloop.continuous.merge import merge_reviewed_labels
from textloop.review.label_quality import check_reviewed_labels
from textloop.review.set_label_quality import likely_set_errors
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.stored_labels import encode
from textloop.store.tables import ReviewStatus, ReviewTask, TaskSource

WRONG = "the striker scored a goal in the league match"  # reviewed as weather: it is sport
RIGHT = "the bank raised interest for investors"  # reviewed as finance


@pytest.fixture
def reviewed(both_modes: Store) -> dict[str, str]:
    """``tags`` with two settled, unmerged sets, one clearly wrong; returns their task ids."""
    ids = {}
    with both_modes.session() as session:
        classifier = get_classifier(session, MULTI)
        for text, labels in ((WRONG, ["weather"]), (RIGHT, ["finance"])):
            task = ReviewTask(
                classifier_id=classifier.id,
                source=TaskSource.IMPLICIT,
                text=text,
                status=ReviewStatus.DONE,
                final_label=encode(labels),
            )
            session.add(task)
            session.flush()
            ids[text] = task.id
    return ids


def test_each_label_s_presence_or_absence_is_suspect_when_confidently_contradicted() -> None:
    classes = ["finance", "sport"]
    probabilities = np.array(
        [
            [0.90, 0.10],
            [0.80, 0.20],
            [0.10, 0.90],
            [0.20, 0.80],
            [0.05, 0.85],  # finance given, confidently absent
            [0.10, 0.97],  # sport not given, confidently present
            [0.60, 0.30],  # finance given, merely unsure: kept
            [np.nan, 0.10],  # finance unscored (no fold learned it): not judged
        ]
    )
    sets = [("finance",), ("finance",), ("sport",), ("sport",)]
    sets += [("finance", "sport"), (), ("finance",), ("finance",)]
    suspects = likely_set_errors(probabilities, sets, classes)
    assert [(s.index, s.given, s.likely) for s in suspects] == [
        (5, (), ("sport",)),  # the larger win first
        (4, ("finance", "sport"), ("sport",)),
    ]
    assert suspects[0].margin == pytest.approx(0.97 - 0.03)


def test_a_clearly_wrong_set_goes_to_a_second_review_suggesting_the_flipped_set(
    both_modes: Store, reviewed: dict[str, str]
) -> None:
    result = check_reviewed_labels(both_modes, MULTI)
    assert (result.checked, result.flagged) == (2, [reviewed[WRONG]])
    with both_modes.session() as session:
        statuses = [
            session.scalar(select(ReviewTask.status).where(ReviewTask.id == reviewed[text]))
            for text in (WRONG, RIGHT)
        ]
        second = session.scalars(
            select(ReviewTask).where(ReviewTask.source == TaskSource.SECOND_REVIEW)
        ).one()
    assert statuses == [ReviewStatus.FLAGGED, ReviewStatus.DONE]
    assert (second.text, second.reported_label, second.suggested_label, second.status) == (
        WRONG,
        encode(["weather"]),
        encode(["sport"]),
        ReviewStatus.OPEN,
    )


def test_review_check_runs_on_a_multi_label_classifier(
    both_modes: Store, settings: Settings, reviewed: dict[str, str]
) -> None:
    env = environment(settings.data_dir, str(settings.database_url))
    checked = run_cli(env, "review", "check", MULTI, "--json")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout) == {"checked": 2, "flagged": [reviewed[WRONG]]}


def test_a_retrain_s_merge_sends_a_set_that_looks_wrong_to_a_second_review_not_into_the_data(
    both_modes: Store, settings: Settings, reviewed: dict[str, str]
) -> None:
    merged = merge_reviewed_labels(both_modes, settings, MULTI)
    assert (merged.reviewed, merged.flagged) == (1, 1)
    with both_modes.session() as session:
        sources = session.scalars(select(ReviewTask.source).where(ReviewTask.status == "open"))
        assert list(sources) == [TaskSource.SECOND_REVIEW]
        merged_into = select(ReviewTask.merged_into).where(ReviewTask.id == reviewed[WRONG])
        assert session.scalar(merged_into) is None  # the doubted set trains nothing
