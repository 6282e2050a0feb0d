"""Handing review tasks to people: leases that expire, decisions, and agreement.

A task needs ``overlap`` decisions from different reviewers (the classifier's setting, default
1). A reviewer is handed the oldest open task they have not decided or skipped, under a lease
that holds one of the task's ``overlap`` slots for ``LEASE`` (so with overlap 1 two reviewers are
never handed the same task); the slot is the primary key of the lease row, so two concurrent
claims of one slot cannot both succeed. When enough decisions are in, the task is ``done`` if
they agree and goes to the admins' ``conflict`` queue if they do not, where an admin settles it.
"None of these" (``NONE_FITS``) is a decision like a label: it counts towards overlap and agrees
only with another "none of these"; a done task with no final label trains nothing, except for a
multi-label classifier, whose decisions are label sets (stored as ``stored_labels`` does) and
whose "none of these" is the empty set: "no label applies". A "none of these" may carry a name
the reviewer proposes as a new label (``label_proposals``): decisions are compared as ``votes``,
in which it counts as that label once the name is one, as "none of these" once the name was
rejected, and until then agrees only with another proposing the same name. A reviewer may
withdraw their decision (undo, or revise it later) until the task's label has been merged into a
dataset: the task opens again and is theirs to decide. Settling a task with a label announces
``review.decided`` (``signals``), which the retrain triggers hear.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ScalarSelect, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from textloop.errors import InvalidRequest, NotFound
from textloop.review.labels import canonical_set, require_known_label
from textloop.signals import REVIEW_DECIDED
from textloop.store.queries import get_classifier
from textloop.store.stored_labels import Mode, decode
from textloop.store.tables import (
    Classifier,
    LabelProposal,
    ProposalStatus,
    ReviewDecision,
    ReviewLease,
    ReviewStatus,
    ReviewTask,
    utcnow,
)

LEASE = timedelta(minutes=10)
CLAIM_ATTEMPTS = 8
SKIPPED = ""  # a skip, stored as a decision: no label is empty, so any label may be "skip"
SKIP_WORD = "skip"  # how the API and exports have always written a skip
NONE_FITS = None  # "none of these": a decision that counts, with no label
NONE_WORD = "none of these"  # how exports and pages write it

# Decisions that count towards a task's overlap: labels and "none of these", not skips. (A
# plain ``label != ""`` would drop the NULLs too: SQL compares nothing with NULL.)
COUNTED = ReviewDecision.label.is_distinct_from(SKIPPED)


@dataclass(frozen=True)
class Proposing:
    """A "none of these" proposing ``name``, which is no label (yet): it agrees only with
    another decision proposing the same name."""

    name: str


# What a counted decision says when decisions are compared: a label (a stored label set for a
# multi-label classifier), "none of these" (``NONE_FITS``), or "none of these" proposing a name.
Vote = str | None | Proposing


def in_words(label: str | None) -> str:
    """A decision as a person reads it: the label (a label set's names, joined by commas),
    "skipped", or "none of these"."""
    if label is NONE_FITS:
        return NONE_WORD
    return "skipped" if label == SKIPPED else ", ".join(decode(label))


def claim_next(session: Session, classifier_name: str, user_id: int) -> ReviewTask | None:
    """Lease the next task for ``user_id`` (keeping one already leased to them), or None."""
    classifier = get_classifier(session, classifier_name)
    now = utcnow()
    held = session.scalar(
        select(ReviewTask)
        .join(ReviewLease, ReviewLease.task_id == ReviewTask.id)
        .where(
            ReviewTask.classifier_id == classifier.id,
            ReviewTask.status == ReviewStatus.OPEN,
            ReviewLease.user_id == user_id,
            ReviewLease.expires_at > now,
        )
        .order_by(ReviewTask.created_at, ReviewTask.id)
        .limit(1)
    )
    if held is not None:
        return held
    session.execute(delete(ReviewLease).where(ReviewLease.expires_at <= now))
    session.flush()
    for _ in range(CLAIM_ATTEMPTS):
        task = _next_open(session, classifier, user_id)
        if task is None:
            return None
        taken = _taken_slots(session, task.id)
        free = [s for s in range(classifier.review_overlap) if s not in taken]
        if not free:  # filled since we looked (another reviewer's claim just committed)
            continue
        slot = free[0]
        try:
            with session.begin_nested():
                session.add(
                    ReviewLease(task_id=task.id, slot=slot, user_id=user_id, expires_at=now + LEASE)
                )
            return task
        except IntegrityError:  # another reviewer took that slot a moment ago
            continue
    return None


def holds(session: Session, task_id: str, user_id: int) -> bool:
    """Whether ``user_id`` holds the task now: it is open and their hold has not run out."""
    return (
        session.scalar(
            select(ReviewLease.task_id)
            .join(ReviewTask, ReviewTask.id == ReviewLease.task_id)
            .where(
                ReviewLease.task_id == task_id,
                ReviewLease.user_id == user_id,
                ReviewLease.expires_at > utcnow(),
                ReviewTask.status == ReviewStatus.OPEN,
            )
        )
        is not None
    )


def own_decision(session: Session, task_id: str, user_id: int) -> ReviewDecision | None:
    """``user_id``'s decision on the task, if they made one."""
    return session.scalar(
        select(ReviewDecision).where(
            ReviewDecision.task_id == task_id, ReviewDecision.user_id == user_id
        )
    )


def decide(
    session: Session,
    task_id: str,
    user_id: int,
    label: str | None,
    proposing: str | None = None,
) -> ReviewTask:
    """Record ``user_id``'s label (``SKIPPED``: a skip; ``NONE_FITS``: none of these) for a task
    they hold, and settle it. ``proposing``: with ``NONE_FITS``, a name the reviewer proposes as
    a new label (``label_proposals.propose`` checks it), stored before the decisions are
    compared, which it takes part in.

    The task row is locked first, so two reviewers deciding one task at once settle it in turn:
    the second sees the first's decision when it counts them.
    """
    task = _locked(session, task_id)
    classifier = session.get(Classifier, task.classifier_id)
    assert classifier is not None
    if label is not NONE_FITS and label != SKIPPED:
        label = canonical_set(classifier, label)
    if label is not NONE_FITS and label != SKIPPED:
        require_known_label(classifier, label)
    if task.status != ReviewStatus.OPEN:
        raise InvalidRequest(f"review task {task_id} is {task.status} already", field="task")
    lease = session.scalar(
        select(ReviewLease).where(
            ReviewLease.task_id == task_id,
            ReviewLease.user_id == user_id,
            ReviewLease.expires_at > utcnow(),  # compared in SQL: SQLite keeps no time zone
        )
    )
    if lease is None:
        raise InvalidRequest("this task is no longer yours to decide; take the next one")
    session.delete(lease)
    session.add(ReviewDecision(task_id=task_id, user_id=user_id, label=label))
    session.flush()
    if proposing is not None:
        if label is not NONE_FITS:
            raise InvalidRequest("a new label is proposed with none of these", field="label")
        session.add(
            LabelProposal(
                classifier_id=classifier.id, task_id=task_id, user_id=user_id, name=proposing
            )
        )
        session.flush()
    _settle(session, task, classifier)
    return task


def withdraw(session: Session, task_id: str, user_id: int) -> ReviewTask:
    """Take back ``user_id``'s decision on a task and hand the task back to them to decide again.

    A task settled by that decision opens again. A task is past taking back once its label was
    merged into a dataset (a model may have been trained on it), once an admin settled it (the
    reviewers disagreed), or once label-quality checks flagged it (a second review is asking).
    Taking back a skip changes nothing else: the skip never counted.
    """
    task = _locked(session, task_id)
    mine = own_decision(session, task_id, user_id)
    if mine is None:
        raise InvalidRequest("you have not decided this task: there is nothing to undo")
    _require_revisable(session, task)
    counted = mine.label != SKIPPED
    session.delete(mine)
    session.flush()
    if counted:
        task.status, task.final_label, task.settle_comment = ReviewStatus.OPEN, None, None
    if task.status == ReviewStatus.OPEN:
        _lease_a_free_slot(session, task, user_id)
    return task


def revisable(session: Session, task: ReviewTask) -> bool:
    """Whether a decision on the task may still be taken back (``withdraw``)."""
    try:
        _require_revisable(session, task)
    except InvalidRequest:
        return False
    return True


def _require_revisable(session: Session, task: ReviewTask) -> None:
    if task.merged_into is not None:
        raise InvalidRequest(
            "this task's label is already in a training dataset: it can no longer be changed"
        )
    if task.status == ReviewStatus.FLAGGED:
        raise InvalidRequest("label checks doubt this task's label: a second review decides it")
    if task.status == ReviewStatus.DONE and not _reviewers_agree(session, task):
        raise InvalidRequest("an admin settled this task: ask an admin to change it")


def _reviewers_agree(session: Session, task: ReviewTask) -> bool:
    """Whether the task's votes agree: then reviewers settled it, and an admin did not (an
    admin settles only tasks whose reviewers disagreed). Votes that agreed keep agreeing and
    votes that disagreed keep disagreeing once the task is settled (``votes``)."""
    classifier = session.get(Classifier, task.classifier_id)
    assert classifier is not None
    return len(set(votes(session, [task.id], classifier.labels)[task.id])) <= 1


def _lease_a_free_slot(session: Session, task: ReviewTask, user_id: int) -> None:
    """Hold one of the task's free slots for ``user_id``, if one is free (a skip taken back may
    find them all held by others); a concurrent claim of the same slot wins."""
    classifier = session.get(Classifier, task.classifier_id)
    assert classifier is not None
    taken = _taken_slots(session, task.id)
    free = [slot for slot in range(classifier.review_overlap) if slot not in taken]
    if not free:
        return
    try:
        with session.begin_nested():
            session.add(
                ReviewLease(
                    task_id=task.id, slot=free[0], user_id=user_id, expires_at=utcnow() + LEASE
                )
            )
    except IntegrityError:  # another reviewer took that slot a moment ago
        pass


def _locked(session: Session, task_id: str) -> ReviewTask:
    """The task, locked, as the database has it now: a copy loaded earlier in the request is
    refreshed, so the checks that follow never read values from before the lock."""
    task = session.get(ReviewTask, task_id, with_for_update=True, populate_existing=True)
    if task is None:
        raise NotFound(f"review task {task_id!r} does not exist")
    return task


def resolve_conflict(
    session: Session, task_id: str, label: str | None, comment: str | None = None
) -> ReviewTask:
    """An admin settles a task whose reviewers disagreed: with any of the classifier's labels,
    or ``NONE_FITS``, and optionally says why. The row is locked: of two admins settling one
    conflict at once, the second finds it settled. The names proposed on it that wait for an
    admin are closed (``superseded``): the text is settled, approving one later changes it not,
    and its votes stay in disagreement for good (``votes``)."""
    task = session.get(ReviewTask, task_id, with_for_update=True, populate_existing=True)
    if task is None or task.status != ReviewStatus.CONFLICT:
        raise NotFound(f"no conflict {task_id!r} to resolve")
    classifier = session.get(Classifier, task.classifier_id)
    assert classifier is not None
    label = canonical_set(classifier, label)
    if label is not NONE_FITS:
        require_known_label(classifier, label)
    task.status, task.final_label = ReviewStatus.DONE, label
    task.settle_comment = (comment or "").strip() or None
    waiting = select(LabelProposal).where(
        LabelProposal.task_id == task.id, LabelProposal.status == ProposalStatus.PENDING
    )
    for proposal in session.scalars(waiting):
        proposal.status, proposal.decided_at = ProposalStatus.SUPERSEDED, utcnow()
    session.flush()
    if trains(classifier, label):
        REVIEW_DECIDED.send(session, classifier)
    return task


def settle_again(session: Session, task_ids: Collection[str]) -> None:
    """Compare again the decisions of the tasks in conflict among ``task_ids``, after a name
    proposed on them was rejected (``votes`` reads those proposals as plain "none of these"
    since): a task whose reviewers agree now is done. An admin then never settles a task whose
    votes agree, so that agreeing votes tell reviewers' settling from an admin's. Rows are
    locked first, as ``decide`` and ``resolve_conflict`` lock them."""
    conflicts = session.scalars(
        select(ReviewTask)
        .where(ReviewTask.id.in_(list(task_ids)), ReviewTask.status == ReviewStatus.CONFLICT)
        .order_by(ReviewTask.created_at, ReviewTask.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    for task in conflicts:
        classifier = session.get(Classifier, task.classifier_id)
        assert classifier is not None
        _settle(session, task, classifier)


def _settle(session: Session, task: ReviewTask, classifier: Classifier) -> None:
    """Done when ``overlap`` counted decisions agree, in conflict when they do not (compared
    as ``votes``: a name proposed and approved since agrees with a reviewer choosing it)."""
    said = votes(session, [task.id], classifier.labels)[task.id]
    if len(said) < classifier.review_overlap:
        return
    agreed = len(set(said)) == 1
    task.status = ReviewStatus.DONE if agreed else ReviewStatus.CONFLICT
    task.final_label = _settled_label(said[0]) if agreed else None
    if agreed and trains(classifier, task.final_label):
        session.flush()
        REVIEW_DECIDED.send(session, classifier)


def votes(
    session: Session, task_ids: Collection[str], labels: Sequence[str]
) -> dict[str, list[Vote]]:
    """What each task's counted decisions say, in the order they were made, to compare them.

    A "none of these" proposing a name counts as that label when it is one of ``labels``
    (approved, or added meanwhile), as plain "none of these" once the name was rejected for it,
    and as ``Proposing`` the name while it waits. Labels are only ever added, which turns every
    decision proposing the name into it at once, and rejecting turns every waiting proposal of
    the name into plain "none of these" at once; so reviewers who agreed keep agreeing. Reviewers
    who disagreed keep disagreeing once an admin settled the task: that closes the proposals
    waiting on it (``resolve_conflict``), which no rejection changes after.
    """
    said: dict[str, list[Vote]] = {task_id: [] for task_id in task_ids}
    if not said:
        return said
    known = set(labels)
    rows = session.execute(
        select(
            ReviewDecision.task_id, ReviewDecision.label, LabelProposal.name, LabelProposal.status
        )
        .outerjoin(
            LabelProposal,
            (LabelProposal.task_id == ReviewDecision.task_id)
            & (LabelProposal.user_id == ReviewDecision.user_id),
        )
        .where(ReviewDecision.task_id.in_(list(said)), COUNTED)
        .order_by(ReviewDecision.id)
    )
    for task_id, label, proposed, status in rows:
        said[task_id].append(_vote(label, proposed, status, known))
    return said


def _vote(label: str | None, proposed: str | None, status: str | None, labels: set[str]) -> Vote:
    if label is not NONE_FITS or proposed is None or status == ProposalStatus.REJECTED:
        return label
    return proposed if proposed in labels else Proposing(proposed)


def _settled_label(vote: Vote) -> str | None:
    """The final label of a task whose votes agree on ``vote``: a name merely proposed trains
    nothing until it is approved (``label_proposals.approve`` relabels the task then)."""
    return NONE_FITS if isinstance(vote, Proposing) else vote


def trains(classifier: Classifier, final_label: str | None) -> bool:
    """Whether a settled task teaches the next model: a label does; "none of these" does for a
    multi-label classifier, where it is the empty set ("no label applies"), and not otherwise."""
    return final_label is not NONE_FITS or classifier.mode == Mode.MULTI_LABEL


def counted_decisions() -> ScalarSelect[int]:
    """In a query over tasks: how many counted decisions (labels, none of these) each has."""
    return (
        select(func.count())
        .select_from(ReviewDecision)
        .where(ReviewDecision.task_id == ReviewTask.id, COUNTED)
        .scalar_subquery()
    )


def _next_open(session: Session, classifier: Classifier, user_id: int) -> ReviewTask | None:
    mine = select(ReviewDecision.task_id).where(ReviewDecision.user_id == user_id)
    decided = counted_decisions()
    leased = (
        select(func.count())
        .select_from(ReviewLease)
        .where(ReviewLease.task_id == ReviewTask.id)
        .scalar_subquery()
    )
    return session.scalar(
        select(ReviewTask)
        .where(
            ReviewTask.classifier_id == classifier.id,
            ReviewTask.status == ReviewStatus.OPEN,
            ReviewTask.id.not_in(mine),
            decided + leased < classifier.review_overlap,
        )
        .order_by(ReviewTask.created_at, ReviewTask.id)
        .limit(1)
    )


def _taken_slots(session: Session, task_id: str) -> set[int]:
    decided = (
        session.scalar(
            select(func.count())
            .select_from(ReviewDecision)
            .where(ReviewDecision.task_id == task_id, COUNTED)
        )
        or 0
    )
    leased = set(session.scalars(select(ReviewLease.slot).where(ReviewLease.task_id == task_id)))
    return leased | _decided_slots(decided, leased)


def _decided_slots(decided: int, leased: set[int]) -> set[int]:
    """Slots used up by decisions: the lowest ones not held by a live lease."""
    free = [slot for slot in range(decided + len(leased)) if slot not in leased]
    return set(free[:decided])
