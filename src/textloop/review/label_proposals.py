"""A reviewer proposes a new label for a text that fits none; an admin approves or rejects it.

Proposing is deciding the task "none of these" (``assignments.decide``, so nothing trains on a
name that is not a label yet) with the name beside the decision, checked as every new label is
(``new_labels.checked_name``) and stored before the task's decisions are compared. One rule
says where: any task of a single-label classifier, out-of-scope ones above all, since a text
can fit no label whatever brought it to review. A multi-label classifier refuses: its "none of
these" is the empty set and trains at once as "no label applies", which a text wanting a
missing label is not.

Reviewers agree on a task (``assignments.votes``) when they all propose the same name; a plain
"none of these", another name or a label beside a proposal is a disagreement, which goes to
conflict for an admin. Approving a name adds it as a label (``new_labels.add_label``, the one
way labels are added; skipped when it is one already, added meanwhile), marks its pending
proposals approved, and gives every done, unmerged task whose reviewers all proposed it that
name as its final label, so the next merge trains on it. From then on a decision proposing it
counts as the label: a task still open settles on it when the next reviewer chooses it. A task
in conflict stays for an admin, who can now settle it with the new label, and an admin's
settling closes the proposals waiting on the task (``superseded``): approving never overrules
an admin, nor a reviewer who said something else. Approving again is harmless. Rejecting marks
the pending proposals rejected and leaves the tasks "none of these"; from then on those
decisions count as plain "none of these", and a conflict only over the name is settled so. A
proposal lives and dies with its decision: taking
the decision back (undo, revise) removes it (the table's foreign key to the decision).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.errors import Conflict, InvalidRequest, NotFound
from textloop.review.assignments import NONE_FITS, decide, settle_again, votes
from textloop.review.new_labels import add_label, checked_name
from textloop.signals import REVIEW_DECIDED
from textloop.store.queries import get_classifier
from textloop.store.stored_labels import Mode
from textloop.store.tables import (
    Classifier,
    LabelProposal,
    ProposalStatus,
    ReviewStatus,
    ReviewTask,
    User,
    utcnow,
)

SAMPLE_TEXTS = 3  # texts shown for each proposed name


@dataclass
class ProposedName:
    """The pending proposals of one name for one classifier, as an admin weighs them."""

    classifier: str
    name: str
    proposals: int = 0
    first_proposed: datetime | None = None
    samples: list[str] = field(default_factory=list)  # a few of the texts, oldest first
    proposers: list[str] = field(default_factory=list)  # reviewers' emails, first first
    is_label: bool = False  # added meanwhile: approving only relabels the tasks
    settled: int = 0  # settled tasks whose reviewers all proposed it: approving trains them

    def as_dict(self) -> dict[str, object]:
        return {
            "classifier": self.classifier,
            "name": self.name,
            "proposals": self.proposals,
            "first_proposed": self.first_proposed.isoformat() if self.first_proposed else None,
            "samples": self.samples,
            "proposers": self.proposers,
            "is_label": self.is_label,
            "settled": self.settled,
        }


@dataclass(frozen=True)
class Outcome:
    """What approving or rejecting a name did; ``proposals`` 0: it had been done before."""

    classifier: str
    name: str
    status: ProposalStatus
    proposals: int
    label_added: bool = False
    relabelled: Sequence[str] = ()  # the ids of the tasks that now train on the name

    def as_dict(self) -> dict[str, object]:
        return {
            "classifier": self.classifier,
            "name": self.name,
            "status": str(self.status),
            "proposals": self.proposals,
            "label_added": self.label_added,
            "relabelled": list(self.relabelled),
        }


def propose(session: Session, task_id: str, user_id: int, name: str) -> LabelProposal:
    """Decide the task "none of these" for ``user_id`` (who must hold it) and record ``name``
    as the label they propose for its text; refused, recording nothing, for a name that is
    empty, too long, or a label already (then the reviewer chooses it): ``checked_name``."""
    task = session.get(ReviewTask, task_id)
    if task is None:
        raise NotFound(f"review task {task_id!r} does not exist")
    classifier = session.get(Classifier, task.classifier_id)
    assert classifier is not None
    if classifier.mode == Mode.MULTI_LABEL:
        raise InvalidRequest(
            f"{classifier.name!r} is multi-label: a new label cannot be proposed there; tick "
            "the labels that apply, or none, and tell an admin the name that is missing",
            field="label",
        )
    decide(session, task_id, user_id, NONE_FITS, proposing=checked_name(classifier, name))
    proposal = proposal_of(session, task_id, user_id)
    assert proposal is not None
    return proposal


def proposal_of(session: Session, task_id: str, user_id: int) -> LabelProposal | None:
    """The label ``user_id`` proposed with their decision on the task, if they did."""
    return session.scalar(
        select(LabelProposal).where(
            LabelProposal.task_id == task_id, LabelProposal.user_id == user_id
        )
    )


def pending_names(session: Session, classifier_name: str | None = None) -> list[ProposedName]:
    """The pending proposals grouped by classifier and name, the most proposed first (one
    classifier's when ``classifier_name`` is given)."""
    query = (
        select(LabelProposal, ReviewTask, User.email, Classifier)
        .join(ReviewTask, ReviewTask.id == LabelProposal.task_id)
        .join(User, User.id == LabelProposal.user_id)
        .join(Classifier, Classifier.id == LabelProposal.classifier_id)
        .where(LabelProposal.status == ProposalStatus.PENDING)
        .order_by(LabelProposal.created_at, LabelProposal.id)
    )
    if classifier_name is not None:
        query = query.where(Classifier.id == get_classifier(session, classifier_name).id)
    names: dict[tuple[str, str], ProposedName] = {}
    tasks: dict[tuple[str, str], set[str]] = {}
    classifiers: dict[str, Classifier] = {}
    for proposal, task, email, classifier in session.execute(query):
        key = (classifier.name, proposal.name)
        group = names.setdefault(key, ProposedName(classifier.name, proposal.name))
        group.proposals += 1
        group.first_proposed = group.first_proposed or proposal.created_at
        group.is_label = proposal.name in classifier.labels
        if task.text not in group.samples and len(group.samples) < SAMPLE_TEXTS:
            group.samples.append(task.text)
        if email not in group.proposers:
            group.proposers.append(email)
        tasks.setdefault(key, set()).add(task.id)
        classifiers[classifier.name] = classifier
    for (classifier_name, name), proposed_on in tasks.items():
        trained = _agreed_on(session, classifiers[classifier_name], name, proposed_on)
        names[classifier_name, name].settled = len(trained)
    return sorted(names.values(), key=lambda group: (-group.proposals, group.classifier))


def approve(
    session: Session, classifier_name: str, name: str, decided_by: int | None = None
) -> Outcome:
    """Make ``name`` a label of the classifier and train the tasks proposed for it on it.

    ``decided_by``: the admin's user id (None from the command line, whose audit entry names
    who ran it). The classifier row is locked, so two admins approving at once add it once.
    """
    classifier = _locked_classifier(session, classifier_name)
    name = name.strip()
    pending = _proposals(session, classifier, name, ProposalStatus.PENDING)
    if not pending and not _proposals(session, classifier, name, ProposalStatus.APPROVED):
        if _proposals(session, classifier, name, ProposalStatus.REJECTED):
            raise Conflict(
                f"{name!r} was rejected for {classifier.name!r}: nothing is pending to approve"
            )
        raise _nothing_waiting(session, classifier, name)
    added = name not in classifier.labels
    if added:
        add_label(session, classifier, name)
    _decide_all(pending, ProposalStatus.APPROVED, decided_by)
    relabelled = _relabel(session, classifier, name)
    return Outcome(classifier.name, name, ProposalStatus.APPROVED, len(pending), added, relabelled)


def reject(
    session: Session, classifier_name: str, name: str, decided_by: int | None = None
) -> Outcome:
    """Turn down ``name``: its pending proposals are rejected, their tasks stay "none of
    these", and a task in conflict only over the name (its other reviewers said "none of
    these") is settled so. Rejecting again is harmless; a name approved already is a label, and
    stays."""
    classifier = _locked_classifier(session, classifier_name)
    name = name.strip()
    pending = _proposals(session, classifier, name, ProposalStatus.PENDING)
    if not pending:
        if _proposals(session, classifier, name, ProposalStatus.APPROVED):
            raise Conflict(
                f"{name!r} was approved for {classifier.name!r} already: it is a label now"
            )
        if not _proposals(session, classifier, name, ProposalStatus.REJECTED):
            raise _nothing_waiting(session, classifier, name)
    _decide_all(pending, ProposalStatus.REJECTED, decided_by)
    session.flush()
    settle_again(session, {proposal.task_id for proposal in pending})
    return Outcome(classifier.name, name, ProposalStatus.REJECTED, len(pending))


def _locked_classifier(session: Session, name: str) -> Classifier:
    classifier = get_classifier(session, name)
    locked = session.get(Classifier, classifier.id, with_for_update=True, populate_existing=True)
    assert locked is not None
    return locked


def _proposals(
    session: Session, classifier: Classifier, name: str, status: ProposalStatus
) -> list[LabelProposal]:
    return list(
        session.scalars(
            select(LabelProposal)
            .where(
                LabelProposal.classifier_id == classifier.id,
                LabelProposal.name == name,
                LabelProposal.status == status,
            )
            .order_by(LabelProposal.id)
        )
    )


def _nothing_waiting(session: Session, classifier: Classifier, name: str) -> NotFound:
    """Nothing to decide: nobody proposed the name, or an admin settled every task it was
    proposed for (``superseded``)."""
    if _proposals(session, classifier, name, ProposalStatus.SUPERSEDED):
        return NotFound(
            f"no proposal of {name!r} waits for {classifier.name!r}: an admin settled every "
            "task it was proposed for"
        )
    return NotFound(f"nobody proposed {name!r} as a label of {classifier.name!r}")


def _decide_all(
    proposals: list[LabelProposal], status: ProposalStatus, decided_by: int | None
) -> None:
    now = utcnow()
    for proposal in proposals:
        proposal.status, proposal.decided_by, proposal.decided_at = status, decided_by, now


def _agreed_on(
    session: Session,
    classifier: Classifier,
    name: str,
    task_ids: Collection[str],
    lock: bool = False,
) -> list[str]:
    """Of ``task_ids``, the done, unmerged tasks settled on "none of these" whose every counted
    decision says ``name`` once it is a label (``votes``): those its approval trains on it,
    oldest first. A plain "none of these", another name or a name rejected on one decision
    keeps a task out; so does an admin's settlement, whose votes disagree. ``lock``: the rows
    are locked first, so a decision taken back meanwhile is seen."""
    query = (
        select(ReviewTask)
        .where(
            ReviewTask.id.in_(list(task_ids)),
            ReviewTask.status == ReviewStatus.DONE,
            ReviewTask.merged_into.is_(None),
            ReviewTask.final_label.is_(NONE_FITS),
        )
        .order_by(ReviewTask.created_at, ReviewTask.id)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    tasks = list(session.scalars(query))
    said = votes(session, [task.id for task in tasks], [*classifier.labels, name])
    return [task.id for task in tasks if said[task.id] and set(said[task.id]) == {name}]


def _relabel(session: Session, classifier: Classifier, name: str) -> list[str]:
    """Settle on ``name`` every task whose reviewers all proposed it (``_agreed_on``), now
    that it is approved; announce ``review.decided`` when any now trains."""
    session.flush()
    proposed = session.scalars(
        select(LabelProposal.task_id).where(
            LabelProposal.classifier_id == classifier.id,
            LabelProposal.name == name,
            LabelProposal.status == ProposalStatus.APPROVED,
        )
    )
    tasks = _agreed_on(session, classifier, name, set(proposed), lock=True)
    for task_id in tasks:
        task = session.get(ReviewTask, task_id)
        assert task is not None
        task.final_label = name
    if tasks:
        session.flush()
        REVIEW_DECIDED.send(session, classifier)
    return tasks
