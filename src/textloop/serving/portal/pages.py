"""The reviewer's pages: the queues, the task page where a reviewer decides (or undoes their
last decision), and the list of their recent decisions to revise.

Each page checks the signed-in account once through ``session.PortalAccount``; every POST
checks the form's CSRF token before it changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from textloop.errors import InvalidRequest, NotFound
from textloop.predict.outcome import top_scores
from textloop.review.assignments import (
    LEASE,
    NONE_FITS,
    SKIPPED,
    claim_next,
    decide,
    holds,
    in_words,
    own_decision,
    revisable,
    withdraw,
)
from textloop.review.label_proposals import proposal_of
from textloop.review.new_labels import MAX_NAME_LENGTH
from textloop.review.pool import TOP_SCORES
from textloop.review.progress import favourite_labels, progress, recent_decisions
from textloop.security.accounts import Account
from textloop.serving.audit_trail import note
from textloop.serving.deps import SessionDep
from textloop.serving.policy import Audit, portal
from textloop.serving.portal import markdown
from textloop.serving.portal.label_set_choices import SetChoice, chosen_set, set_choices
from textloop.serving.portal.readable import named, readable
from textloop.serving.portal.session import Form, PortalAccount, check_csrf
from textloop.serving.portal.templating import templates
from textloop.store.queries import get_classifier
from textloop.store.stored_labels import Mode, decode
from textloop.store.tables import (
    Classifier,
    ModelVersion,
    Prediction,
    ReviewLease,
    ReviewStatus,
    ReviewTask,
    as_utc,
    utcnow,
)

router = APIRouter(include_in_schema=False)
EXPLICIT = "explicit"  # a task opened because a user said the model was wrong
OUT_OF_SCOPE = "out_of_scope"  # the model found the text unlike everything it learned from
DISPUTED = (EXPLICIT, OUT_OF_SCOPE)  # tasks where the model's label must not be one key away
CHOICES = 9  # labels one number key away
SUGGESTED = "suggested"
NEW_LABEL = "new label, suggested"  # added since the model answered (``discover``)
ACTIONS = {"skip": SKIPPED, "none": NONE_FITS}  # the decisions that are not a label
SAVE_SET = "labels"  # a multi-label task's ticked boxes (``label_set_choices``)
WHY = {  # why a task is in the queue, by its source
    "implicit": "the model was unsure",
    "explicit": "a user reported the model's answer as wrong",
    "pool": "sampled from unlabelled texts to teach the model",
    "second_review": "a label that quality checks doubt, asked again",
    "out_of_scope": "the model found it unlike every text it learned from (out of scope)",
    "discovered": "it is one of a cluster of texts an admin made a new label of (discover)",
}


@router.get("/", response_class=HTMLResponse)
@portal()
def queues(request: Request, session: SessionDep, account: PortalAccount) -> Response:
    classifiers = [
        c
        for c in session.scalars(select(Classifier).order_by(Classifier.name))
        if account.may_review(c.name)
    ]
    rows = []
    for classifier in classifiers:
        counts = dict(
            session.execute(
                select(ReviewTask.status, func.count())
                .where(ReviewTask.classifier_id == classifier.id)
                .group_by(ReviewTask.status)
            ).all()
        )
        sources = dict(
            session.execute(
                select(ReviewTask.source, func.count())
                .where(
                    ReviewTask.classifier_id == classifier.id,
                    ReviewTask.status == ReviewStatus.OPEN,
                )
                .group_by(ReviewTask.source)
            ).all()
        )
        in_progress = session.scalar(
            select(func.count(func.distinct(ReviewLease.task_id)))
            .join(ReviewTask, ReviewTask.id == ReviewLease.task_id)
            .where(ReviewTask.classifier_id == classifier.id, ReviewLease.expires_at > utcnow())
        )
        mine = progress(session, classifier, account.user_id)
        rows.append(
            {
                "name": classifier.name,
                "left": mine.left,
                "done_today": mine.done_today,
                "open": counts.get(ReviewStatus.OPEN, 0),
                "in_progress": in_progress or 0,
                "done": counts.get(ReviewStatus.DONE, 0),
                "conflict": counts.get(ReviewStatus.CONFLICT, 0),
                "sources": sources,
                "overlap": classifier.review_overlap,
            }
        )
    return templates.TemplateResponse(request, "queues.html", {"account": account, "queues": rows})


@router.get("/queues/{name}/next")
@portal()
def next_task(
    name: str,
    request: Request,
    session: SessionDep,
    account: PortalAccount,
    saved: str | None = None,
) -> Response:
    """Hand the reviewer their next task; ``saved`` names the task they just decided, so the
    next page can say what was saved and offer to undo it."""
    account.require_classifier(name)
    task = claim_next(session, name, account.user_id)
    if task is None:
        return templates.TemplateResponse(
            request,
            "empty.html",
            {"account": account, "classifier": name, "saved": _saved(session, account, saved)},
        )
    after = f"?saved={saved}" if saved and saved.isalnum() else ""
    return RedirectResponse(f"/tasks/{task.id}{after}", status_code=303)


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
@portal()
def task_page(
    task_id: str,
    request: Request,
    session: SessionDep,
    account: PortalAccount,
    saved: str | None = None,
) -> Response:
    task, classifier = _task_of_mine(session, account, task_id)
    if not holds(session, task_id, account.user_id):
        return _not_yours(request, session, account, task, classifier.name)
    favourites = favourite_labels(session, classifier, account.user_id)
    sets = classifier.mode == Mode.MULTI_LABEL
    return templates.TemplateResponse(
        request,
        "task.html",
        {
            "account": account,
            "classifier": classifier.name,
            "task": task,
            "choices": [] if sets else _choices(session, task, classifier.labels, favourites),
            "set_choices": _set_choices(session, task, classifier.labels) if sets else [],
            "explicit": task.source in DISPUTED,
            "out_of_scope": task.source == OUT_OF_SCOPE,
            "reported": _reported(task, sets),
            "labels": named(classifier.labels),
            "progress": progress(session, classifier, account.user_id),
            "why": WHY.get(task.source, task.source),
            "threshold": classifier.threshold,
            "model_version": _model_version(session, task),
            "guidelines": markdown.render(classifier.guidelines),
            "saved": _saved(session, account, saved),
            "max_label_length": MAX_NAME_LENGTH,  # of a proposed new label
        },
    )


@router.get("/queues/{name}/mine", response_class=HTMLResponse)
@portal()
def my_decisions(
    name: str, request: Request, session: SessionDep, account: PortalAccount
) -> Response:
    """The reviewer's recent decisions on a classifier, each one revisable until it trains."""
    account.require_classifier(name)
    classifier = get_classifier(session, name)
    return templates.TemplateResponse(
        request,
        "my_decisions.html",
        {
            "account": account,
            "classifier": name,
            "decisions": recent_decisions(session, classifier, account.user_id),
        },
    )


@router.post("/tasks/{task_id}/undo")
@portal(audit=Audit.DECISION)
def undo_decision(
    task_id: str, request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    """Take back the reviewer's decision and open the task for them to decide again."""
    check_csrf(account.csrf_token, form)
    _, classifier = _task_of_mine(session, account, task_id)
    note(request, classifier=classifier.name, undo=True)
    # a repeated press (a retried POST, a double click) finds the task already back in hand
    if own_decision(session, task_id, account.user_id) is not None or not holds(
        session, task_id, account.user_id
    ):
        withdraw(session, task_id, account.user_id)
    return RedirectResponse(f"/tasks/{task_id}", status_code=303)


@router.post("/tasks/{task_id}")
@portal(audit=Audit.DECISION)
def decide_task(
    task_id: str, request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    check_csrf(account.csrf_token, form)
    task, classifier = _task_of_mine(session, account, task_id)
    if not holds(session, task_id, account.user_id):  # a page kept by Back, an old address
        return _not_yours(request, session, account, task, classifier.name)
    action = form.get("action", "")
    if action in ACTIONS:
        label = ACTIONS[action]
    elif action == SAVE_SET and classifier.mode == Mode.MULTI_LABEL:
        label = chosen_set(form)
    else:
        # the search box submits its text: the whole list filter is the script's, not needed
        label = (form.get("label") or form.get("label_search", "")).strip()
        if not label:
            raise InvalidRequest("choose a label, none of these, or skip the task", field="label")
    note(request, classifier=classifier.name, label=label)
    if action:
        note(request, action=action)
    decide(session, task_id, account.user_id, label)
    return RedirectResponse(f"/queues/{classifier.name}/next?saved={task_id}", status_code=303)


@dataclass(frozen=True)
class Saved:
    """The decision the reviewer just made, shown on the next page with a way to undo it."""

    task_id: str
    label: str | None
    undoable: bool
    proposed: str | None = None  # the new label proposed with it ("none of these")

    @property
    def says(self) -> str:
        if self.proposed is not None:
            return f"{in_words(self.label)}, proposing “{self.proposed}”"
        return in_words(self.label)


def _saved(session: SessionDep, account: Account, task_id: str | None) -> Saved | None:
    """The reviewer's own decision on ``task_id`` (from the address; anyone else's is never
    shown), when they made it within the last ``LEASE``: a link to an older one arms no undo
    key (older decisions are revised from "my recent decisions", deliberately)."""
    if not task_id:
        return None
    decision = own_decision(session, task_id, account.user_id)
    task = session.get(ReviewTask, task_id)
    if decision is None or task is None or as_utc(decision.created_at) < utcnow() - LEASE:
        return None
    proposal = proposal_of(session, task_id, account.user_id)
    proposed = proposal.name if proposal else None
    return Saved(task_id, decision.label, revisable(session, task), proposed)


def _model_version(session: SessionDep, task: ReviewTask) -> int | None:
    """The version that answered the text the task is about, when a prediction did."""
    if not task.prediction_id:
        return None
    return session.scalar(
        select(ModelVersion.version)
        .join(Prediction, Prediction.model_version_id == ModelVersion.id)
        .where(Prediction.id == task.prediction_id)
    )


def _task_of_mine(
    session: SessionDep, account: Account, task_id: str
) -> tuple[ReviewTask, Classifier]:
    """The task and its classifier, when the classifier is one the person may review."""
    task = session.get(ReviewTask, task_id)
    if task is None:
        raise NotFound(f"review task {task_id!r} does not exist")
    classifier = session.get(Classifier, task.classifier_id)
    assert classifier is not None
    account.require_classifier(classifier.name)
    return task, classifier


def _not_yours(
    request: Request, session: SessionDep, account: Account, task: ReviewTask, classifier: str
) -> Response:
    """A task the reviewer does not hold, shown as such (never as a form to answer): what they
    decided, if they did, and the way on. 409: nothing was recorded."""
    mine = own_decision(session, task.id, account.user_id)
    return templates.TemplateResponse(
        request,
        "task_gone.html",
        {
            "account": account,
            "classifier": classifier,
            "task": task,
            "decided": None if mine is None else Saved(task.id, mine.label, False).says,
        },
        status_code=409,
    )


@dataclass(frozen=True)
class Choice:
    label: str
    score: float | None  # the model's score, when it gave one
    note: str  # why it is offered: "suggested", "the user's label", "model's label, disputed"

    @property
    def readable(self) -> str | None:
        return readable(self.label)

    @property
    def suggested(self) -> bool:
        """The model's label on a task nobody disputed: what ``Enter`` approves."""
        return self.note == SUGGESTED


def _choices(
    session: SessionDep, task: ReviewTask, labels: list[str], favourites: list[str]
) -> list[Choice]:
    """The labels offered under number keys, at most ``CHOICES``; every label stays searchable.

    A task from explicit feedback offers the user's label first (when they gave one) and marks
    the model's label as disputed; one the model found out of scope marks its label as only the
    nearest; neither pre-selects a label for ``Enter``. Other tasks offer the
    model's best labels, the suggestion first. A suggestion the model gave no score (a label
    added since it answered, by ``discover``) comes before the model's labels. The labels this
    reviewer picks most fill the remaining keys, then the rest alphabetically, so that a
    classifier with few labels has every label one key away.
    """
    ranked = _top_scores(session, task)
    explicit = task.source == EXPLICIT
    disputed = {EXPLICIT: "model's label, disputed", OUT_OF_SCOPE: "nearest label; out of scope"}
    choices: list[Choice] = []
    if explicit and task.reported_label:
        score = dict(ranked).get(task.reported_label)
        choices.append(Choice(task.reported_label, score, "the user's label"))
    new = _new_label_suggested(task, labels, ranked)
    if new is not None:  # first, and what Enter approves where the model's label would be
        choices.append(Choice(new, None, NEW_LABEL if task.source in DISPUTED else SUGGESTED))
    for index, (label, score) in enumerate(ranked):
        if any(choice.label == label for choice in choices):
            continue
        note = ""
        if index == 0:
            note = disputed.get(task.source, SUGGESTED if new is None else "model's label")
        choices.append(Choice(label, score, note))
    for label in [*favourites, *sorted(labels)]:
        if len(choices) >= CHOICES:
            break
        if not any(choice.label == label for choice in choices):
            choices.append(Choice(label, None, ""))
    return choices[:CHOICES]


def _new_label_suggested(
    task: ReviewTask, labels: list[str], ranked: list[tuple[str, float]]
) -> str | None:
    """The task's suggestion when the model gave it no score: a label added since the model
    answered, suggested for the text's cluster by ``discover``."""
    suggested = task.suggested_label
    if suggested and suggested in labels and suggested not in dict(ranked):
        return suggested
    return None


def _reported(task: ReviewTask, sets: bool) -> str | None:
    """What the user said the label is, as a person reads it: a set's names, or "no label
    applies" for the empty one (stored ``""``, apart from ``None``: no correction given)."""
    if task.reported_label is None or not sets:
        return task.reported_label
    return ", ".join(decode(task.reported_label)) or "no label applies"


def _set_choices(session: SessionDep, task: ReviewTask, labels: list[str]) -> list[SetChoice]:
    scores = dict(_top_scores(session, task, limit=None))
    return set_choices(labels, scores, task.suggested_label, task.source == EXPLICIT)


def _top_scores(
    session: SessionDep, task: ReviewTask, limit: int | None = TOP_SCORES
) -> list[tuple[str, float]]:
    """The model's best labels for the task's text, highest first (the suggestion first)."""
    scores: dict[str, Any] = dict(task.scores or {})
    if not scores and task.prediction_id:
        prediction = session.get(Prediction, task.prediction_id)
        scores = dict(prediction.scores) if prediction else {}
    if not scores and task.suggested_label:
        scores = {task.suggested_label: task.confidence or 0.0}
    return [(label, float(score)) for label, score in top_scores(scores, limit).items()]
