"""Portal pages: sign-in, the queues, and the task page where a reviewer decides.

Each page checks the signed-in account once through ``session.PortalAccount``; every POST
checks the form's CSRF token before it changes anything. The login page shows only messages of
its own (``LOGIN_ERRORS``, chosen by a code in the address): text from a link is never shown, so
nobody can put their words on our page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select

from textloop.errors import AuthError, InvalidRequest, NotFound, TooManyRequests
from textloop.predict.outcome import top_scores
from textloop.review.assignments import SKIPPED, claim_next, decide, holds, own_decision
from textloop.review.pool import TOP_SCORES
from textloop.security.accounts import Account, sign_in, sign_out
from textloop.serving.audit_trail import note
from textloop.serving.deps import SessionDep
from textloop.serving.policy import Audit, portal
from textloop.serving.portal.session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Form,
    PortalAccount,
    check_csrf,
    new_login_token,
)
from textloop.store.tables import (
    Classifier,
    Prediction,
    ReviewLease,
    ReviewStatus,
    ReviewTask,
    utcnow,
)

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)
EXPLICIT = "explicit"  # a task opened because a user said the model was wrong
CHOICES = 9  # labels one number key away
SUGGESTED = "suggested"


LOGIN_ERRORS = {
    "credentials": "wrong email or password",
    "throttled": "too many failed sign-ins for this account or from this address: try again later",
    "session_ended": "your session has ended: sign in again",
}


@router.get("/login", response_class=HTMLResponse)
@portal()
def login_page(request: Request, error: str | None = None) -> Response:
    """The login form; ``?error=CODE`` shows one of ``LOGIN_ERRORS``, any other value nothing."""
    return _login_form(request, LOGIN_ERRORS.get(error or ""))


@router.post("/login")
@portal()
def login(request: Request, session: SessionDep, form: Form) -> Response:
    check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE), form)
    address = request.client.host if request.client else None  # never X-Forwarded-For
    try:
        token, _ = sign_in(session, form.get("email", ""), form.get("password", ""), address)
    except TooManyRequests as exc:  # its message is ours, with the minutes to wait
        session.rollback()
        return _login_form(request, exc.message, 429, exc.headers)
    except AuthError:
        session.rollback()
        return _login_form(request, LOGIN_ERRORS["credentials"])
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="strict", secure=_https(request)
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def _login_form(
    request: Request,
    error: str | None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    token = new_login_token()
    response = templates.TemplateResponse(
        request, "login.html", {"csrf_token": token, "error": error}, status, headers
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_https(request)
    )
    return response


@router.post("/logout")
@portal()
def logout(request: Request, session: SessionDep, account: PortalAccount, form: Form) -> Response:
    check_csrf(account.csrf_token, form)
    sign_out(session, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


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
        rows.append(
            {
                "name": classifier.name,
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
def next_task(name: str, request: Request, session: SessionDep, account: PortalAccount) -> Response:
    account.require_classifier(name)
    task = claim_next(session, name, account.user_id)
    if task is None:
        return templates.TemplateResponse(
            request, "empty.html", {"account": account, "classifier": name}
        )
    return RedirectResponse(f"/tasks/{task.id}", status_code=303)


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
@portal()
def task_page(
    task_id: str, request: Request, session: SessionDep, account: PortalAccount
) -> Response:
    task = session.get(ReviewTask, task_id)
    if task is None:
        raise NotFound(f"review task {task_id!r} does not exist")
    classifier = session.get(Classifier, task.classifier_id)
    assert classifier is not None
    account.require_classifier(classifier.name)
    if not holds(session, task_id, account.user_id):
        return _not_yours(request, session, account, task, classifier.name)
    return templates.TemplateResponse(
        request,
        "task.html",
        {
            "account": account,
            "classifier": classifier.name,
            "task": task,
            "choices": _choices(session, task, classifier.labels),
            "explicit": task.source == EXPLICIT,
            "labels": classifier.labels,
        },
    )


@router.post("/tasks/{task_id}")
@portal(audit=Audit.DECISION)
def decide_task(
    task_id: str, request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    check_csrf(account.csrf_token, form)
    task = session.get(ReviewTask, task_id)
    if task is None:
        raise NotFound(f"review task {task_id!r} does not exist")
    classifier = session.get(Classifier, task.classifier_id)
    assert classifier is not None
    account.require_classifier(classifier.name)
    if not holds(session, task_id, account.user_id):  # a page kept by Back, an old address
        return _not_yours(request, session, account, task, classifier.name)
    chosen = form.get("label") or form.get("label_search", "")  # the search box without JS
    label = SKIPPED if form.get("action") == "skip" else chosen.strip()
    if label == SKIPPED and form.get("action") != "skip":
        raise InvalidRequest("choose a label, or skip the task", field="label")
    note(request, classifier=classifier.name, label=label)
    decide(session, task_id, account.user_id, label)
    return RedirectResponse(f"/queues/{classifier.name}/next", status_code=303)


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
            "decided": None if mine is None else (mine.label or None),
            "skipped": mine is not None and not mine.label,
        },
        status_code=409,
    )


@dataclass(frozen=True)
class Choice:
    label: str
    score: float | None  # the model's score, when it gave one
    note: str  # why it is offered: "suggested", "the user's label", "model's label, disputed"

    @property
    def suggested(self) -> bool:
        """The model's label on a task nobody disputed: what ``Enter`` approves."""
        return self.note == SUGGESTED


def _choices(session: SessionDep, task: ReviewTask, labels: list[str]) -> list[Choice]:
    """The labels offered under number keys, at most ``CHOICES``; every label stays searchable.

    A task from explicit feedback offers the user's label first (when they gave one) and marks
    the model's label as disputed; no label is pre-selected for ``Enter``. Other tasks offer the
    model's best labels, the suggestion first. Labels the model did not rank fill the remaining
    keys, so that a classifier with few labels has every label one key away.
    """
    ranked = _top_scores(session, task)
    explicit = task.source == EXPLICIT
    choices: list[Choice] = []
    if explicit and task.reported_label:
        score = dict(ranked).get(task.reported_label)
        choices.append(Choice(task.reported_label, score, "the user's label"))
    for index, (label, score) in enumerate(ranked):
        if any(choice.label == label for choice in choices):
            continue
        note = ""
        if index == 0:
            note = "model's label, disputed" if explicit else SUGGESTED
        choices.append(Choice(label, score, note))
    for label in sorted(labels):
        if len(choices) >= CHOICES:
            break
        if not any(choice.label == label for choice in choices):
            choices.append(Choice(label, None, ""))
    return choices[:CHOICES]


def _top_scores(session: SessionDep, task: ReviewTask) -> list[tuple[str, float]]:
    """The model's best labels for the task's text, highest first (the suggestion first)."""
    scores: dict[str, Any] = dict(task.scores or {})
    if not scores and task.prediction_id:
        prediction = session.get(Prediction, task.prediction_id)
        scores = dict(prediction.scores) if prediction else {}
    if not scores and task.suggested_label:
        scores = {task.suggested_label: task.confidence or 0.0}
    return [(label, float(score)) for label, score in top_scores(scores, TOP_SCORES).items()]


def _https(request: Request) -> bool:
    """Cookies served over TLS are sent back over TLS only."""
    return request.url.scheme == "https"
