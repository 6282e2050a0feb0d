"""A reviewer proposes a new label for a text that fits none of the labels; an admin approves it
(the name becomes a label and the tasks proposed for it train on it) or rejects it (they stay
"none of these"). A proposal is a "none of these" decision with a name beside it, and goes when
that decision is taken back."""

import pytest
from sqlalchemy import select

from tests.review.conftest import claim, set_overlap, settle
from textloop.config import Settings
from textloop.continuous.merge import merge_reviewed_labels
from textloop.errors import Conflict, InvalidRequest, NotFound
from textloop.review.assignments import NONE_FITS, resolve_conflict, withdraw
from textloop.review.label_proposals import (
    Outcome,
    approve,
    pending_names,
    proposal_of,
    propose,
    reject,
)
from textloop.review.new_labels import MAX_NAME_LENGTH, add_label
from textloop.review.tasks import unmerged_reviewed
from textloop.store import Store
from textloop.store.queries import get_classifier, get_or_create_classifier
from textloop.store.stored_labels import Mode
from textloop.store.tables import (
    Example,
    LabelProposal,
    ReviewDecision,
    ReviewTask,
    TaskSource,
    User,
)

pytestmark = pytest.mark.storage

ANN, BOB, CY = 1, 2, 3
ADMIN_EMAIL = "ada@example.com"


@pytest.fixture
def out_of_scope(queue: Store) -> Store:
    """The queue's three tasks, each one the model found out of scope."""
    with queue.session() as session:
        for task in session.scalars(select(ReviewTask)):
            task.source = TaskSource.OUT_OF_SCOPE
    return queue


def proposed(store: Store, user: int, name: str) -> str:
    """``user`` claims their next task and proposes ``name`` for it; returns the task's id."""
    task = claim(store, user)
    assert task is not None
    with store.session() as session:
        propose(session, task, user, name)
    return task


def task_row(store: Store, task_id: str) -> tuple[str, str | None]:
    with store.session() as session:
        task = session.get(ReviewTask, task_id)
        assert task is not None
        return task.status, task.final_label


def proposals(store: Store) -> list[tuple[str, str, str]]:
    """(task id, name, status) of every proposal, oldest first."""
    with store.session() as session:
        rows = session.scalars(select(LabelProposal).order_by(LabelProposal.id))
        return [(p.task_id, p.name, p.status) for p in rows]


def labels_of(store: Store) -> list[str]:
    with store.session() as session:
        return list(get_classifier(session, "topics").labels)


def training_task_ids(store: Store) -> set[str]:
    with store.session() as session:
        classifier = get_classifier(session, "topics")
        return {task.id for task in session.scalars(unmerged_reviewed(classifier))}


def test_proposing_decides_none_of_these_so_nothing_trains_on_an_unknown_name(
    out_of_scope: Store,
) -> None:
    task = proposed(out_of_scope, ANN, "  billing ")
    assert task_row(out_of_scope, task) == ("done", None)
    with out_of_scope.session() as session:
        decision = session.scalar(select(ReviewDecision).where(ReviewDecision.task_id == task))
        assert decision is not None and decision.label is NONE_FITS
        proposal = proposal_of(session, task, ANN)
        assert proposal is not None
        assert (proposal.name, proposal.status, proposal.decided_by) == ("billing", "pending", None)
    assert training_task_ids(out_of_scope) == set()
    assert labels_of(out_of_scope) == ["finance", "sport", "weather"]


def test_any_single_label_task_may_carry_a_proposal_not_only_out_of_scope_ones(
    queue: Store,
) -> None:
    task = proposed(queue, ANN, "billing")  # an implicit task: the model was merely unsure
    assert task_row(queue, task) == ("done", None)
    assert proposals(queue) == [(task, "billing", "pending")]


@pytest.mark.parametrize(
    "name, message",
    [
        ("sport", "'sport' is a label of 'topics' already"),
        (" sport  ", "'sport' is a label of 'topics' already"),
        ("   ", "a new label needs a name"),
        ("x" * (MAX_NAME_LENGTH + 1), f"at most {MAX_NAME_LENGTH} characters"),
        ("bill\x1fing", "may not hold control characters"),
    ],
)
def test_a_name_that_is_no_new_label_is_refused_and_nothing_is_recorded(
    out_of_scope: Store, name: str, message: str
) -> None:
    task = claim(out_of_scope, ANN)
    assert task is not None
    with pytest.raises(InvalidRequest, match=message), out_of_scope.session() as session:
        propose(session, task, ANN, name)
    assert task_row(out_of_scope, task) == ("open", None)
    assert proposals(out_of_scope) == []
    assert settle(out_of_scope, task, ANN, "sport") == "done"  # still theirs to decide


def test_only_the_reviewer_holding_the_task_may_propose_for_it(out_of_scope: Store) -> None:
    task = claim(out_of_scope, ANN)
    assert task is not None
    with pytest.raises(InvalidRequest, match="no longer yours"), out_of_scope.session() as s:
        propose(s, task, BOB, "billing")
    with pytest.raises(NotFound, match="does not exist"), out_of_scope.session() as session:
        propose(session, "nosuchtask", ANN, "billing")
    assert proposals(out_of_scope) == []


def test_a_multi_label_classifier_refuses_a_proposal_and_says_what_to_do(
    out_of_scope: Store,
) -> None:
    with out_of_scope.session() as session:
        tags = get_or_create_classifier(session, "tags", Mode.MULTI_LABEL)
        tags.labels = ["card", "refund"]
        session.flush()
        task = ReviewTask(classifier_id=tags.id, source="out_of_scope", text="a parcel is late")
        session.add(task)
        session.flush()
        task_id = task.id
    refused = pytest.raises(InvalidRequest, match="multi-label: a new label cannot be proposed")
    with refused, out_of_scope.session() as session:
        propose(session, task_id, ANN, "delivery")
    assert task_row(out_of_scope, task_id) == ("open", None)


def test_pending_proposals_are_listed_by_name_with_texts_and_who_proposed(
    out_of_scope: Store,
) -> None:
    first = proposed(out_of_scope, ANN, "billing")
    proposed(out_of_scope, BOB, "billing")
    proposed(out_of_scope, CY, "refunds")
    with out_of_scope.session() as session:
        names = pending_names(session, "topics")
        everywhere = pending_names(session)
        first_text = session.get(ReviewTask, first).text  # type: ignore[union-attr]
    assert [(n.name, n.proposals, n.settled) for n in names] == [
        ("billing", 2, 2),
        ("refunds", 1, 1),
    ]
    billing = names[0]
    assert billing.proposers == ["ann@example.com", "bob@example.com"]
    assert billing.samples[0] == first_text and len(billing.samples) == 2
    assert billing.classifier == "topics" and billing.is_label is False
    assert [n.as_dict() for n in everywhere] == [n.as_dict() for n in names]


def test_approving_adds_the_label_and_the_tasks_proposed_for_it_train_on_it(
    out_of_scope: Store,
) -> None:
    ann_task = proposed(out_of_scope, ANN, "billing")
    bob_task = proposed(out_of_scope, BOB, "billing")
    cy_task = proposed(out_of_scope, CY, "refunds")
    with out_of_scope.session() as session:
        admin = session.scalar(select(User.id).where(User.email == "cy@example.com"))
        outcome = approve(session, "topics", "billing", decided_by=admin)
    assert outcome == Outcome("topics", "billing", "approved", 2, True, [ann_task, bob_task])
    assert labels_of(out_of_scope) == ["finance", "sport", "weather", "billing"]
    assert task_row(out_of_scope, ann_task) == ("done", "billing")
    assert task_row(out_of_scope, cy_task) == ("done", None)  # refunds is still pending
    assert training_task_ids(out_of_scope) == {ann_task, bob_task}
    with out_of_scope.session() as session:
        decided = session.scalars(select(LabelProposal).where(LabelProposal.name == "billing"))
        assert {(p.status, p.decided_by, p.decided_at is not None) for p in decided} == {
            ("approved", admin, True)
        }
        assert [n.name for n in pending_names(session, "topics")] == ["refunds"]


def test_the_next_merge_trains_on_the_approved_label(
    out_of_scope: Store, settings: Settings
) -> None:
    task = proposed(out_of_scope, ANN, "billing")
    with out_of_scope.session() as session:
        approve(session, "topics", "billing")
        text = session.get(ReviewTask, task).text  # type: ignore[union-attr]
    merged = merge_reviewed_labels(out_of_scope, settings, "topics")
    assert merged.reviewed == 1 and merged.dataset_version == 2
    with out_of_scope.session() as session:
        row = session.scalar(select(Example).where(Example.text == text))
        assert row is not None and row.label == "billing"
        assert session.get(ReviewTask, task).merged_into is not None  # type: ignore[union-attr]


def test_a_conflict_stays_for_an_admin_who_can_now_settle_it_with_the_new_label(
    out_of_scope: Store,
) -> None:
    set_overlap(out_of_scope, 2)
    task = proposed(out_of_scope, ANN, "billing")
    assert claim(out_of_scope, BOB) == task
    assert settle(out_of_scope, task, BOB, "finance") == "conflict"
    with out_of_scope.session() as session:
        outcome = approve(session, "topics", "billing")
    assert outcome.relabelled == [] and task_row(out_of_scope, task) == ("conflict", None)
    with out_of_scope.session() as session:
        resolve_conflict(session, task, "billing")
    assert task_row(out_of_scope, task) == ("done", "billing")


def test_two_reviewers_who_propose_the_same_name_train_on_it_once_approved(
    out_of_scope: Store,
) -> None:
    set_overlap(out_of_scope, 2)
    task = proposed(out_of_scope, ANN, "billing")
    assert claim(out_of_scope, BOB) == task
    with out_of_scope.session() as session:
        propose(session, task, BOB, "billing")
    assert task_row(out_of_scope, task) == ("done", None)
    with out_of_scope.session() as session:
        assert [(n.proposals, n.settled) for n in pending_names(session)] == [(2, 1)]
        assert approve(session, "topics", "billing").relabelled == [task]
    assert task_row(out_of_scope, task) == ("done", "billing")


def test_reviewers_who_propose_different_names_disagree_and_an_admin_settles_the_task(
    out_of_scope: Store,
) -> None:
    set_overlap(out_of_scope, 2)
    task = proposed(out_of_scope, ANN, "billing")
    assert claim(out_of_scope, BOB) == task
    with out_of_scope.session() as session:
        assert propose(session, task, BOB, "refunds").name == "refunds"
    assert task_row(out_of_scope, task) == ("conflict", None)
    with out_of_scope.session() as session:
        assert [(n.name, n.settled) for n in pending_names(session)] == [
            ("billing", 0),
            ("refunds", 0),
        ]
        assert approve(session, "topics", "billing").relabelled == []
    with out_of_scope.session() as session:
        assert approve(session, "topics", "refunds").relabelled == []
    assert task_row(out_of_scope, task) == ("conflict", None)  # neither name overrules the other
    assert {status for _, _, status in proposals(out_of_scope)} == {"approved"}


def test_a_plain_none_of_these_disagrees_with_a_proposal(out_of_scope: Store) -> None:
    set_overlap(out_of_scope, 2)
    task = proposed(out_of_scope, ANN, "billing")
    assert claim(out_of_scope, BOB) == task
    assert settle(out_of_scope, task, BOB, NONE_FITS) == "conflict"
    with out_of_scope.session() as session:
        assert [n.settled for n in pending_names(session)] == [0]
        assert approve(session, "topics", "billing").relabelled == []
    assert task_row(out_of_scope, task) == ("conflict", None)
    assert training_task_ids(out_of_scope) == set()


def test_approving_never_overrules_an_admin_who_settled_the_task(out_of_scope: Store) -> None:
    set_overlap(out_of_scope, 2)
    task = proposed(out_of_scope, ANN, "billing")
    assert claim(out_of_scope, BOB) == task
    assert settle(out_of_scope, task, BOB, "finance") == "conflict"
    with out_of_scope.session() as session:
        resolve_conflict(session, task, NONE_FITS, "a recipe: none of our topics")
    later = proposed(out_of_scope, ANN, "billing")  # the name is still proposed elsewhere
    with out_of_scope.session() as session:
        assert approve(session, "topics", "billing").relabelled == []
    assert task_row(out_of_scope, task) == ("done", None)
    assert task_row(out_of_scope, later) == ("open", None)  # waits for its second reviewer
    with pytest.raises(InvalidRequest, match="an admin settled"), out_of_scope.session() as s:
        withdraw(s, task, ANN)


def test_an_admin_settling_a_task_closes_the_proposals_waiting_on_it(
    out_of_scope: Store,
) -> None:
    set_overlap(out_of_scope, 2)
    task = proposed(out_of_scope, ANN, "billing")
    assert claim(out_of_scope, BOB) == task
    assert settle(out_of_scope, task, BOB, "finance") == "conflict"
    with out_of_scope.session() as session:
        resolve_conflict(session, task, "finance")
    assert proposals(out_of_scope) == [(task, "billing", "superseded")]
    with out_of_scope.session() as session:
        assert pending_names(session) == []  # its text is no sample of a name waiting
    with (
        pytest.raises(NotFound, match="no proposal of 'billing' waits for 'topics'"),
        out_of_scope.session() as session,
    ):
        approve(session, "topics", "billing")
    other = proposed(out_of_scope, ANN, "billing")
    with out_of_scope.session() as session:
        [waiting] = pending_names(session)
        assert (waiting.proposals, len(waiting.samples)) == (1, 1)
        assert approve(session, "topics", "billing").proposals == 1
    assert sorted(proposals(out_of_scope)) == sorted(
        [(task, "billing", "superseded"), (other, "billing", "approved")]
    )
    assert task_row(out_of_scope, task) == ("done", "finance")


def test_a_name_approved_while_a_task_waits_counts_as_that_label_when_it_settles(
    out_of_scope: Store,
) -> None:
    set_overlap(out_of_scope, 2)
    task = proposed(out_of_scope, ANN, "billing")  # one of two decisions: still open
    with out_of_scope.session() as session:
        first = approve(session, "topics", "billing")
    assert (first.proposals, first.label_added, first.relabelled) == (1, True, [])
    assert claim(out_of_scope, BOB) == task
    assert settle(out_of_scope, task, BOB, "billing") == "done"  # ann's proposal agrees
    assert task_row(out_of_scope, task) == ("done", "billing")
    assert training_task_ids(out_of_scope) == {task}
    with out_of_scope.session() as session:
        withdraw(session, task, BOB)  # the reviewers agreed: theirs to take back
    assert task_row(out_of_scope, task) == ("open", None)


def test_a_name_rejected_while_a_task_waits_leaves_a_plain_none_of_these(
    out_of_scope: Store,
) -> None:
    set_overlap(out_of_scope, 2)
    task = proposed(out_of_scope, ANN, "billing")
    with out_of_scope.session() as session:
        reject(session, "topics", "billing")
    assert claim(out_of_scope, BOB) == task
    assert settle(out_of_scope, task, BOB, NONE_FITS) == "done"
    assert task_row(out_of_scope, task) == ("done", None)


def test_rejecting_the_only_name_in_dispute_settles_the_conflict_none_of_these(
    out_of_scope: Store,
) -> None:
    set_overlap(out_of_scope, 2)
    task = proposed(out_of_scope, ANN, "billing")
    assert claim(out_of_scope, BOB) == task
    assert settle(out_of_scope, task, BOB, NONE_FITS) == "conflict"
    with out_of_scope.session() as session:
        reject(session, "topics", "billing")
    assert task_row(out_of_scope, task) == ("done", None)  # both say none of these now
    with pytest.raises(NotFound, match="no conflict"), out_of_scope.session() as session:
        resolve_conflict(session, task, "finance")
    with out_of_scope.session() as session:
        withdraw(session, task, BOB)  # the reviewers agreed: theirs to take back
    assert task_row(out_of_scope, task) == ("open", None)


def test_approving_again_is_harmless(out_of_scope: Store) -> None:
    task = proposed(out_of_scope, ANN, "billing")
    with out_of_scope.session() as session:
        assert approve(session, "topics", "billing").relabelled == [task]
    with out_of_scope.session() as session:
        again = approve(session, "topics", "billing")
    assert (again.proposals, again.label_added, again.relabelled) == (0, False, [])
    assert labels_of(out_of_scope).count("billing") == 1
    assert task_row(out_of_scope, task) == ("done", "billing")


def test_a_name_that_became_a_label_meanwhile_is_approved_without_adding_it_twice(
    out_of_scope: Store,
) -> None:
    task = proposed(out_of_scope, ANN, "billing")
    with out_of_scope.session() as session:
        add_label(session, get_classifier(session, "topics"), "billing")  # ``discover``, say
    with out_of_scope.session() as session:
        assert [n.is_label for n in pending_names(session)] == [True]
        outcome = approve(session, "topics", "billing")
    assert (outcome.label_added, outcome.relabelled) == (False, [task])
    assert labels_of(out_of_scope).count("billing") == 1
    assert task_row(out_of_scope, task) == ("done", "billing")


def test_rejecting_leaves_the_tasks_none_of_these_and_cannot_be_approved_after(
    out_of_scope: Store,
) -> None:
    task = proposed(out_of_scope, ANN, "billing")
    with out_of_scope.session() as session:
        assert reject(session, "topics", "billing", decided_by=ANN).proposals == 1
    with out_of_scope.session() as session:
        assert reject(session, "topics", "billing").proposals == 0  # again: harmless
    assert proposals(out_of_scope) == [(task, "billing", "rejected")]
    assert task_row(out_of_scope, task) == ("done", None)
    assert labels_of(out_of_scope) == ["finance", "sport", "weather"]
    with pytest.raises(Conflict, match="was rejected"), out_of_scope.session() as session:
        approve(session, "topics", "billing")
    assert labels_of(out_of_scope) == ["finance", "sport", "weather"]


def test_an_approved_name_cannot_be_rejected_and_unknown_names_are_named(
    out_of_scope: Store,
) -> None:
    proposed(out_of_scope, ANN, "billing")
    with out_of_scope.session() as session:
        approve(session, "topics", "billing")
    with (
        pytest.raises(Conflict, match="approved for 'topics' already"),
        out_of_scope.session() as s,
    ):
        reject(s, "topics", "billing")
    for act in (approve, reject):
        with (
            pytest.raises(NotFound, match="nobody proposed 'refunds'"),
            out_of_scope.session() as s,
        ):
            act(s, "topics", "refunds")
        with pytest.raises(NotFound, match="classifier 'nope'"), out_of_scope.session() as s:
            act(s, "nope", "billing")


def test_taking_the_decision_back_takes_the_proposal_with_it(out_of_scope: Store) -> None:
    task = proposed(out_of_scope, ANN, "billing")
    with out_of_scope.session() as session:
        withdraw(session, task, ANN)
    assert proposals(out_of_scope) == []
    assert task_row(out_of_scope, task) == ("open", None)
    with out_of_scope.session() as session:
        propose(session, task, ANN, "invoices")  # proposed anew, under another name
        assert [n.name for n in pending_names(session)] == ["invoices"]
