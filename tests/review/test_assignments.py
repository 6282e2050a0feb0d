"""Tasks are leased one reviewer per slot, decided once by each, and settled by agreement."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.review.conftest import claim, set_overlap, settle
from textloop.errors import InvalidRequest
from textloop.review.assignments import SKIPPED
from textloop.store import Store
from textloop.store.tables import ReviewDecision, ReviewLease, ReviewTask

pytestmark = pytest.mark.storage


def test_with_overlap_one_two_reviewers_never_get_the_same_task(queue: Store) -> None:
    first, second = claim(queue, 1), claim(queue, 2)
    assert first and second and first != second
    assert claim(queue, 1) == first  # asking again keeps the task one holds
    assert settle(queue, first, 1, "sport") == "done"
    third = claim(queue, 1)
    assert third not in (first, second, None)
    assert claim(queue, 3) is None  # every open task is held by someone


def test_a_reviewer_never_sees_a_task_they_decided_or_skipped(queue: Store) -> None:
    seen = set()
    while (task := claim(queue, 1)) is not None:
        assert task not in seen
        seen.add(task)
        settle(queue, task, 1, SKIPPED)
    assert len(seen) == 3
    with queue.session() as session:
        statuses = set(session.scalars(select(ReviewTask.status)))
    assert statuses == {"open"}  # skips decide nothing; others may still take them
    assert claim(queue, 2) is not None


def test_an_expired_lease_frees_the_task(queue: Store) -> None:
    set_overlap(queue, 1)
    held = [claim(queue, 1), claim(queue, 1)]
    assert held[0] == held[1]
    with queue.session() as session:
        lease = session.scalars(select(ReviewLease)).one()
        lease.expires_at -= timedelta(hours=1)
    assert claim(queue, 2) == held[0]  # the oldest open task again
    with pytest.raises(InvalidRequest, match="no longer yours"):
        settle(queue, held[0], 1, "sport")


def test_with_overlap_two_agreement_settles_and_disagreement_is_a_conflict(queue: Store) -> None:
    set_overlap(queue, 2)
    task = claim(queue, 1)
    assert claim(queue, 2) == task  # the second slot of the same task
    other = claim(queue, 3)
    assert other != task  # both slots of the first task are held
    assert settle(queue, task, 1, "sport") == "open"
    assert settle(queue, task, 2, "sport") == "done"
    assert claim(queue, 1) == other  # the free slot of the task cy holds
    settle(queue, other, 3, "sport")
    assert settle(queue, other, 1, "finance") == "conflict"
    with queue.session() as session:
        done = session.get(ReviewTask, task)
        assert done is not None and done.final_label == "sport"
        assert len(session.scalars(select(ReviewDecision)).all()) == 4


def test_a_label_the_classifier_lacks_is_refused_and_changes_nothing(queue: Store) -> None:
    task = claim(queue, 1)
    assert task is not None
    with pytest.raises(InvalidRequest, match="'golf' is not a label of 'topics'"):
        settle(queue, task, 1, "golf")
    assert settle(queue, task, 1, "weather") == "done"
