"""Admin pages of the review loop: the conflicts an admin settles, and the history of every
reviewer's decisions.

A conflict is settled with any of its classifier's labels, not only those the reviewers gave,
or with "none of these", and may say why; the page shows the model's suggestion beside the
reviewers' votes, twenty conflicts a page, oldest first. The history is filtered by classifier,
reviewer and kind of decision, newest first, an id cursor a page.

``admin.router`` includes this router: every page requires the ``admin`` role and every form
checks its CSRF token first. The confirmation after settling is read back from the database
for the task the address names, never taken from the address's text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from textwrap import shorten
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Row, func, select

from textloop.errors import InvalidRequest
from textloop.review import assignments
from textloop.review.assignments import COUNTED, NONE_FITS, NONE_WORD, SKIPPED, in_words
from textloop.serving.audit_trail import note
from textloop.serving.deps import SessionDep
from textloop.serving.policy import Audit, portal
from textloop.serving.portal.label_set_choices import chosen_set
from textloop.serving.portal.paging import older_link, page_of
from textloop.serving.portal.readable import named
from textloop.serving.portal.session import Form, PortalAccount, check_csrf
from textloop.serving.portal.templating import templates
from textloop.serving.routes.audit import Blank, Cursor, Words
from textloop.store.tables import (
    Classifier,
    LabelProposal,
    ReviewDecision,
    ReviewStatus,
    ReviewTask,
    User,
)

router = APIRouter()
CONFLICTS_PER_PAGE = 20
HISTORY_ROWS = 100
NONE_ACTION = "none"  # the "None of these" button: action=none
SET_ACTION = "labels"  # a multi-label task's "Settle with the ticked labels": action=labels

# The kinds of decision the history filters by. (NULL is neither equal nor unequal to "" in
# SQL, so "a label" names both conditions.)
DECISION_KINDS = {
    "label": ReviewDecision.label.is_not(None) & (ReviewDecision.label != SKIPPED),
    "skip": ReviewDecision.label == SKIPPED,
    "none": ReviewDecision.label.is_(NONE_FITS),
}
KIND_WORDS = {"label": "a label", "skip": "skipped", "none": NONE_WORD}

PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
DecisionKind = Literal["label", "skip", "none"] | None


@dataclass(frozen=True)
class Conflict:
    """A task the reviewers disagreed on, with who said what."""

    task: ReviewTask
    classifier: Classifier
    votes: list[tuple[str, str | None]]  # (reviewer's email, label; None: none of these)
    proposals: dict[str, str] = field(default_factory=dict)  # email: the new label proposed

    @property
    def given(self) -> list[str]:
        """The distinct labels reviewers gave, first given first, and the names they proposed
        that are labels now: one button each ("none of these" has its own button on every
        conflict)."""
        given = [label for _, label in self.votes if label is not NONE_FITS]
        given += [name for name in self.proposals.values() if name in self.classifier.labels]
        return list(dict.fromkeys(given))


@router.get("/conflicts", response_class=HTMLResponse)
@portal(audit=Audit.ADMIN_ACTION)
def conflicts_page(
    request: Request,
    session: SessionDep,
    account: PortalAccount,
    page: PageNumber = 1,
    settled: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """One page of conflicts, oldest first; ``settled`` names the task just settled."""
    account.require_admin()
    in_conflict = ReviewTask.status == ReviewStatus.CONFLICT
    total = session.scalar(select(func.count()).select_from(ReviewTask).where(in_conflict))
    shown = page_of(page, CONFLICTS_PER_PAGE, total or 0)
    tasks = session.scalars(
        select(ReviewTask)
        .where(in_conflict)
        .order_by(ReviewTask.created_at, ReviewTask.id)
        .offset(shown.offset)
        .limit(shown.size)
    ).all()
    conflicts = _conflicts(session, tasks)
    classifiers = {conflict.classifier.id: conflict.classifier for conflict in conflicts}
    return templates.TemplateResponse(
        request,
        "admin_conflicts.html",
        {
            "account": account,
            "conflicts": conflicts,
            "page": shown,
            "labels": {id_: named(c.labels) for id_, c in classifiers.items()},
            "none_word": NONE_WORD,
            "confirmed": _settled(session, settled),
        },
    )


@router.post("/conflicts/{task_id}")
@portal(audit=Audit.ADMIN_ACTION)
def settle_conflict(
    task_id: str,
    request: Request,
    session: SessionDep,
    account: PortalAccount,
    form: Form,
    page: PageNumber = 1,
) -> Response:
    """Settle with ``label`` (a button, or ``other_label`` typed beside the "Settle with it"
    button, whose own value is empty) or with ``action=none``; ``comment`` says why."""
    account.require_admin()
    check_csrf(account.csrf_token, form)
    label = _settling_label(form)
    comment = form.get("comment", "")
    note(request, label=label, comment=comment.strip() or None)
    task = assignments.resolve_conflict(session, task_id, label, comment)
    classifier = session.get(Classifier, task.classifier_id)
    note(request, classifier=classifier.name if classifier else None)
    after = urlencode({"page": page, "settled": task_id})
    return RedirectResponse(f"/admin/conflicts?{after}", status_code=303)


@dataclass(frozen=True)
class HistoryFilter:
    """Which decisions the history shows; a field left ``None`` matches every decision."""

    classifier: str | None = None  # the classifier's name
    reviewer: str | None = None  # a part of the reviewer's email
    decision: str | None = None  # a key of DECISION_KINDS

    def chosen(self) -> dict[str, str]:
        """The filters set, as the form and the "Older" link send them."""
        return {name: value for name, value in asdict(self).items() if value}


def history_filter(
    classifier: Annotated[Words, Blank, Query()] = None,
    reviewer: Annotated[Words, Blank, Query()] = None,
    decision: Annotated[DecisionKind, Blank, Query()] = None,
) -> HistoryFilter:
    return HistoryFilter(
        classifier=classifier.strip() if classifier else None,
        reviewer=reviewer.strip().lower() if reviewer else None,
        decision=decision,
    )


HistoryQuery = Annotated[HistoryFilter, Depends(history_filter)]


@router.get("/history", response_class=HTMLResponse)
@portal(audit=Audit.ADMIN_ACTION)
def history_page(
    request: Request,
    session: SessionDep,
    account: PortalAccount,
    where: HistoryQuery,
    before_id: Cursor = None,
) -> Response:
    """Review decisions, newest first, filtered by a plain GET form."""
    account.require_admin()
    rows = decision_history(session, where, before_id, HISTORY_ROWS)
    ids = [decision.id for decision, *_ in rows]
    return templates.TemplateResponse(
        request,
        "admin_history.html",
        {
            "account": account,
            "rows": rows,
            "filters": where.chosen(),
            "classifiers": session.scalars(select(Classifier.name).order_by(Classifier.name)).all(),
            "kinds": KIND_WORDS,
            "older": older_link("/admin/history", where.chosen(), ids, HISTORY_ROWS),
            "skipped": SKIPPED,
            "page_size": HISTORY_ROWS,
        },
    )


def decision_history(
    session: SessionDep, where: HistoryFilter, before_id: int | None, limit: int
) -> Sequence[Row[ReviewDecision, str, str, str]]:
    """(decision, reviewer's email, task text, classifier name), newest first, older than
    ``before_id`` when given."""
    query = (
        select(ReviewDecision, User.email, ReviewTask.text, Classifier.name)
        .join(User, User.id == ReviewDecision.user_id)
        .join(ReviewTask, ReviewTask.id == ReviewDecision.task_id)
        .join(Classifier, Classifier.id == ReviewTask.classifier_id)
        .order_by(ReviewDecision.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(ReviewDecision.id < before_id)
    if where.classifier:
        query = query.where(Classifier.name == where.classifier)
    if where.reviewer:
        query = query.where(User.email.contains(where.reviewer, autoescape=True))
    if where.decision:
        query = query.where(DECISION_KINDS[where.decision])
    return session.execute(query).all()


def _conflicts(session: SessionDep, tasks: Iterable[ReviewTask]) -> list[Conflict]:
    """Each task with its classifier and its counted votes (labels and none of these, not
    skips) with the new labels proposed beside them, in two queries for the whole page."""
    tasks = list(tasks)
    ids = [task.id for task in tasks]
    votes: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    proposals: dict[str, dict[str, str]] = defaultdict(dict)
    for task_id, email, label, proposed in session.execute(
        select(ReviewDecision.task_id, User.email, ReviewDecision.label, LabelProposal.name)
        .join(User, User.id == ReviewDecision.user_id)
        .outerjoin(
            LabelProposal,
            (LabelProposal.task_id == ReviewDecision.task_id)
            & (LabelProposal.user_id == ReviewDecision.user_id),
        )
        .where(ReviewDecision.task_id.in_(ids), COUNTED)
        .order_by(ReviewDecision.id)
    ):
        votes[task_id].append((email, label))
        if proposed is not None:
            proposals[task_id][email] = proposed
    wanted = {task.classifier_id for task in tasks}
    classifiers = {
        c.id: c for c in session.scalars(select(Classifier).where(Classifier.id.in_(wanted)))
    }
    return [
        Conflict(task, classifiers[task.classifier_id], votes[task.id], proposals[task.id])
        for task in tasks
    ]


def _settling_label(form: dict[str, str]) -> str | None:
    """The label the admin chose: ``NONE_FITS`` for "None of these", the ticked set for a
    multi-label task; a label left empty is refused here, an unknown one by
    ``resolve_conflict``."""
    if form.get("action") == NONE_ACTION:
        return NONE_FITS
    if form.get("action") == SET_ACTION:  # any set, the boxes a multi-label task shows
        chosen = chosen_set(form)
        if chosen is NONE_FITS:  # a click with nothing ticked is not a decision
            raise InvalidRequest(
                'tick the labels to settle the task with, or press "No label applies"',
                field="labels",
            )
        return chosen
    label = (form.get("label") or form.get("other_label", "")).strip()
    if not label:
        raise InvalidRequest("choose a label, or none of these, to settle the task", field="label")
    return label


def _settled(session: SessionDep, task_id: str | None) -> str | None:
    """What the task just settled was settled with, from the database."""
    task = session.get(ReviewTask, task_id) if task_id else None
    if task is None or task.status != ReviewStatus.DONE:
        return None
    return f"Settled: {in_words(task.final_label)} · “{shorten(task.text, 80, placeholder='…')}”"
