""" "None of these" is a decision that counts, and a reviewer may take a decision back until its
label trains a model; a reviewer's progress and favourite labels are their own."""

import pytest
from sqlalchemy import select

from tests.review.conftest import claim, set_overlap, settle
from textloop.config import Settings
from textloop.continuous import merge
from textloop.errors import InvalidRequest
from textloop.review.assignments import NONE_FITS, SKIPPED, holds, resolve_conflict, withdraw
from textloop.review.export import decisions_table
from textloop.review.progress import favourite_labels, progress, recent_decisions
from textloop.review.stats import reviewer_stats
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import DatasetVersion, Example, ReviewDecision, ReviewStatus, ReviewTask

pytestmark = pytest.mark.storage


def task_row(store: Store, task_id: str) -> tuple[str, str | None, str | None]:
    with store.session() as session:
        task = session.get(ReviewTask, task_id)
        assert task is not None
        return task.status, task.final_label, task.settle_comment


def held_by_two(queue: Store) -> str:
    """With two reviewers per task, the first task, held by ann (1) and bob (2)."""
    set_overlap(queue, 2)
    task = claim(queue, 1)
    assert task is not None and claim(queue, 2) == task
    return task


def test_two_reviewers_agreeing_that_none_fits_settle_the_task_with_no_label(
    queue: Store,
) -> None:
    task = held_by_two(queue)
    assert settle(queue, task, 1, NONE_FITS) == "open"  # counts as one of two decisions
    assert settle(queue, task, 2, NONE_FITS) == "done"
    assert task_row(queue, task) == ("done", None, None)


def test_none_of_these_against_a_label_is_a_conflict_an_admin_settles_with_any_label(
    queue: Store,
) -> None:
    task = held_by_two(queue)
    settle(queue, task, 1, NONE_FITS)
    assert settle(queue, task, 2, "sport") == "conflict"
    with queue.session() as session:
        resolve_conflict(session, task, "finance", "  about money, not the match ")
    assert task_row(queue, task) == ("done", "finance", "about money, not the match")


def test_a_conflict_may_be_settled_as_none_of_these_but_never_with_an_unknown_label(
    queue: Store,
) -> None:
    task = held_by_two(queue)
    settle(queue, task, 1, "finance")
    settle(queue, task, 2, "sport")
    with pytest.raises(InvalidRequest, match="'politics' is not a label"), queue.session() as s:
        resolve_conflict(s, task, "politics")
    assert task_row(queue, task) == ("conflict", None, None)
    with queue.session() as session:
        resolve_conflict(session, task, NONE_FITS)
    assert task_row(queue, task) == ("done", None, None)


def test_undo_reopens_a_settled_task_and_hands_it_back_to_the_reviewer(queue: Store) -> None:
    task = claim(queue, 1)
    assert task is not None
    assert settle(queue, task, 1, "sport") == "done"
    with queue.session() as session:
        withdraw(session, task, 1)
    assert task_row(queue, task) == ("open", None, None)
    with queue.session() as session:
        assert holds(session, task, 1)
        assert session.scalar(select(ReviewDecision).where(ReviewDecision.task_id == task)) is None
    assert claim(queue, 2) != task  # it is the reviewer's again, not the next one's
    assert settle(queue, task, 1, "finance") == "done"
    assert task_row(queue, task) == ("done", "finance", None)


def test_undo_of_one_of_two_decisions_keeps_the_other_reviewers(queue: Store) -> None:
    task = held_by_two(queue)
    settle(queue, task, 1, "sport")
    assert settle(queue, task, 2, "finance") == "conflict"
    with queue.session() as session:
        withdraw(session, task, 1)
    assert task_row(queue, task)[0] == "open"
    assert settle(queue, task, 1, "finance") == "done"
    assert task_row(queue, task) == ("done", "finance", None)


def test_a_label_already_merged_into_a_dataset_cannot_be_undone(queue: Store) -> None:
    task = claim(queue, 1)
    assert task is not None
    settle(queue, task, 1, "sport")
    with queue.session() as session:
        row = session.get(ReviewTask, task)
        assert row is not None
        row.merged_into = session.scalar(select(DatasetVersion.id))  # the corpus's version
        assert row.merged_into is not None
    with pytest.raises(InvalidRequest, match="already in a training dataset"), queue.session() as s:
        withdraw(s, task, 1)
    assert task_row(queue, task) == ("done", "sport", None)


def test_nobody_undoes_a_decision_they_did_not_make(queue: Store) -> None:
    task = claim(queue, 1)
    assert task is not None
    settle(queue, task, 1, "sport")
    with pytest.raises(InvalidRequest, match="nothing to undo"), queue.session() as session:
        withdraw(session, task, 2)
    assert task_row(queue, task) == ("done", "sport", None)


def test_progress_counts_what_is_left_for_this_reviewer_and_what_they_did_today(
    queue: Store,
) -> None:
    set_overlap(queue, 2)
    with queue.session() as session:
        classifier = get_classifier(session, "topics")
        assert progress(session, classifier, 1) == progress(session, classifier, 2)
        assert progress(session, classifier, 1).left == 3
    task = claim(queue, 1)
    assert task is not None
    settle(queue, task, 1, "sport")
    other = claim(queue, 1)
    assert other is not None
    settle(queue, other, 1, SKIPPED)
    with queue.session() as session:
        classifier = get_classifier(session, "topics")
        mine, theirs = progress(session, classifier, 1), progress(session, classifier, 2)
    assert (mine.left, mine.done_today) == (1, 2)  # the queue still has 3 open tasks
    assert (theirs.left, theirs.done_today) == (3, 0)


def test_recent_decisions_come_newest_first_and_say_none_of_these(queue: Store) -> None:
    labels = ["sport", NONE_FITS, SKIPPED]
    for label in labels:
        task = claim(queue, 1)
        assert task is not None
        settle(queue, task, 1, label)
    with queue.session() as session:
        recent = recent_decisions(session, get_classifier(session, "topics"), 1)
    assert [decision.label for decision in recent] == labels[::-1]
    assert recent[0].skipped and all(decision.revisable for decision in recent)


def test_favourite_labels_are_the_ones_a_reviewer_picks_most(queue: Store) -> None:
    for label in ("sport", "finance", "finance"):
        task = claim(queue, 1)
        assert task is not None
        settle(queue, task, 1, label)
    with queue.session() as session:
        classifier = get_classifier(session, "topics")
        assert favourite_labels(session, classifier, 1) == ["finance", "sport"]
        assert favourite_labels(session, classifier, 2) == []


def test_exports_and_agreement_treat_none_of_these_as_a_decision_of_its_own(
    queue: Store,
) -> None:
    task = held_by_two(queue)
    settle(queue, task, 1, NONE_FITS)
    settle(queue, task, 2, NONE_FITS)
    with queue.session() as session:
        rows = decisions_table(session, "topics").to_pylist()
        stats = {row.email: row for row in reviewer_stats(session)}
    assert [(r["decision"], r["skipped"], r["none_of_these"]) for r in rows] == [
        ("none of these", "false", "true")
    ] * 2
    assert stats["ann@example.com"].decisions == 1 and stats["ann@example.com"].kappa == 1.0


def test_taking_back_a_skip_leaves_a_task_others_settled_as_it_is(queue: Store) -> None:
    task = claim(queue, 1)
    assert task is not None
    settle(queue, task, 1, SKIPPED)
    assert claim(queue, 2) == task
    assert settle(queue, task, 2, "sport") == "done"
    with queue.session() as session:
        withdraw(session, task, 1)
        assert not holds(session, task, 1)
    assert task_row(queue, task) == ("done", "sport", None)


def test_taking_back_a_skip_never_hands_a_held_task_to_a_second_reviewer(queue: Store) -> None:
    task = claim(queue, 1)
    assert task is not None
    settle(queue, task, 1, SKIPPED)
    assert claim(queue, 2) == task  # bob holds its one slot
    with queue.session() as session:
        withdraw(session, task, 1)
        assert holds(session, task, 2) and not holds(session, task, 1)
    assert settle(queue, task, 2, "sport") == "done"


def test_an_admins_settlement_and_a_flagged_label_are_past_taking_back(queue: Store) -> None:
    task = held_by_two(queue)
    settle(queue, task, 1, "sport")
    settle(queue, task, 2, "finance")
    with queue.session() as session:
        resolve_conflict(session, task, "finance", "about money")
    with pytest.raises(InvalidRequest, match="an admin settled"), queue.session() as session:
        withdraw(session, task, 1)
    assert task_row(queue, task) == ("done", "finance", "about money")

    other = claim(queue, 1)
    assert other is not None and claim(queue, 2) == other
    settle(queue, other, 1, "sport")
    settle(queue, other, 2, "sport")
    with queue.session() as session:  # as label-quality checks mark a doubted label
        flagged = session.get(ReviewTask, other)
        assert flagged is not None
        flagged.status = ReviewStatus.FLAGGED
    with pytest.raises(InvalidRequest, match="second review"), queue.session() as session:
        withdraw(session, other, 1)
    assert task_row(queue, other) == ("flagged", "sport", None)


def test_a_label_taken_back_during_a_merge_stays_unmerged_until_it_is_decided_again(
    queue: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = claim(queue, 1)
    assert task is not None
    settle(queue, task, 1, "sport")
    ingest = merge.ingest_batch

    def ingest_while_the_reviewer_undoes(*args: object, **kwargs: object) -> object:
        with queue.session() as session:  # the reviewer presses u during the merge
            withdraw(session, task, 1)
        return ingest(*args, **kwargs)

    monkeypatch.setattr(merge, "ingest_batch", ingest_while_the_reviewer_undoes)
    merge.merge_reviewed_labels(queue, settings, "topics")
    monkeypatch.setattr(merge, "ingest_batch", ingest)
    with queue.session() as session:
        row = session.get(ReviewTask, task)
        assert row is not None and (row.status, row.merged_into) == ("open", None)
    settle(queue, task, 1, "sport")  # decided again: now the next merge takes it
    merge.merge_reviewed_labels(queue, settings, "topics")
    with queue.session() as session:
        row = session.get(ReviewTask, task)
        newest = session.scalar(select(DatasetVersion.id).order_by(DatasetVersion.id.desc()))
        labels = session.scalars(
            select(Example.label).where(
                Example.dataset_version_id == newest, Example.text == "text 0"
            )
        ).all()
    assert row is not None and row.merged_into == newest
    assert labels == ["sport"]
