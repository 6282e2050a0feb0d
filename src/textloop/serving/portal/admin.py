"""Admin pages: API keys (shown once; expiry, plan, this month's usage), users (add, disable,
enable, remove), classifiers' review settings, conflicts, history, and the audit log.

Every page requires the ``admin`` role; every form checks its CSRF token first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from textloop.errors import InvalidRequest, NotFound
from textloop.review import assignments
from textloop.review.assignments import SKIPPED
from textloop.review.stats import reviewer_stats
from textloop.security.accounts import (
    ROLES,
    create_user,
    disable_user,
    enable_user,
    list_users,
    remove_user,
)
from textloop.security.api_keys import SCOPES, create_api_key, revoke_api_key
from textloop.security.audit import entry_dict, list_entries
from textloop.security.usage import usage_reports
from textloop.serving.audit_trail import note
from textloop.serving.deps import SessionDep, get_runtime
from textloop.serving.policy import Audit, portal
from textloop.serving.portal.pages import templates
from textloop.serving.portal.session import Form, PortalAccount, check_csrf
from textloop.serving.routes.audit import AuditQuery, Cursor
from textloop.store.queries import get_classifier
from textloop.store.tables import (
    ApiKey,
    Classifier,
    ReviewDecision,
    ReviewStatus,
    ReviewTask,
    Role,
    User,
    as_utc,
)

router = APIRouter(prefix="/admin", include_in_schema=False)
HISTORY_ROWS = 200
AUDIT_ROWS = 100


@router.get("/keys", response_class=HTMLResponse)
@portal(audit=Audit.ADMIN_ACTION)
def keys_page(request: Request, session: SessionDep, account: PortalAccount) -> Response:
    account.require_admin()
    return _keys_page(request, session, account, new_key=None)


def _keys_page(
    request: Request, session: SessionDep, account: PortalAccount, new_key: str | None
) -> Response:
    """The keys page; ``new_key`` only from ``create_key``, never from the address (where
    anyone could put a "key" of their choosing on our page in a link)."""
    keys = session.scalars(select(ApiKey).order_by(ApiKey.id.desc())).all()
    pending = get_runtime(request).refusals
    usage = {report.key_id: report for report in usage_reports(session, pending=pending)}
    return templates.TemplateResponse(
        request,
        "admin_keys.html",
        {
            "account": account,
            "keys": keys,
            "usage": usage,
            "scopes": SCOPES,
            "new_key": new_key,
        },
    )


@router.post("/keys", response_class=HTMLResponse)
@portal(audit=Audit.ADMIN_ACTION)
def create_key(
    request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    account.require_admin()
    check_csrf(account.csrf_token, form)
    scopes = [scope for scope in SCOPES if form.get(f"scope_{scope}")]
    issued = create_api_key(
        session, scopes, _names(form.get("classifiers", "")), form.get("name", ""), **_limits(form)
    )
    note(request, f"key {issued.id}", prefix=issued.prefix, scopes=issued.scopes)
    # Shown on this response only: the key is stored as a hash and never displayed again.
    return _keys_page(request, session, account, new_key=issued.key)


@router.post("/keys/{key_id}/revoke")
@portal(audit=Audit.ADMIN_ACTION)
def revoke_key(
    request: Request, key_id: int, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    account.require_admin()
    check_csrf(account.csrf_token, form)
    revoke_api_key(session, key_id)
    note(request, f"key {key_id}")
    return RedirectResponse("/admin/keys", status_code=303)


@router.get("/users", response_class=HTMLResponse)
@portal(audit=Audit.ADMIN_ACTION)
def users_page(request: Request, session: SessionDep, account: PortalAccount) -> Response:
    account.require_admin()
    users = list_users(session)
    return templates.TemplateResponse(
        request, "admin_users.html", {"account": account, "users": users, "roles": ROLES}
    )


@router.post("/users")
@portal(audit=Audit.ADMIN_ACTION)
def create_user_from_form(
    request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    account.require_admin()
    check_csrf(account.csrf_token, form)
    user = create_user(
        session,
        form.get("email", ""),
        form.get("password", ""),
        form.get("role", Role.REVIEWER),
        _names(form.get("classifiers", "")),
    )
    note(request, user.email, role=user.role, classifiers=user.classifiers)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}/disable")
@portal(audit=Audit.ADMIN_ACTION)
def disable_user_from_form(
    user_id: int, request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    """The person cannot sign in any more; their sessions end now."""
    user = _user_to_change(user_id, request, session, account, form)
    disable_user(session, user)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}/enable")
@portal(audit=Audit.ADMIN_ACTION)
def enable_user_from_form(
    user_id: int, request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    user = _user_to_change(user_id, request, session, account, form)
    enable_user(session, user)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}/remove")
@portal(audit=Audit.ADMIN_ACTION)
def remove_user_from_form(
    user_id: int, request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    """Refused (422, nothing changed) while the person has review decisions."""
    user = _user_to_change(user_id, request, session, account, form)
    remove_user(session, user)
    return RedirectResponse("/admin/users", status_code=303)


def _user_to_change(
    user_id: int, request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> User:
    """The account a users-page button acts on, after the admin and CSRF checks; named in the
    audit entry whether or not the change is then refused."""
    account.require_admin()
    check_csrf(account.csrf_token, form)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"there is no portal account {user_id}")
    note(request, user.email, role=user.role)
    return user


@router.get("/classifiers", response_class=HTMLResponse)
@portal(audit=Audit.ADMIN_ACTION)
def classifiers_page(request: Request, session: SessionDep, account: PortalAccount) -> Response:
    account.require_admin()
    classifiers = session.scalars(select(Classifier).order_by(Classifier.name)).all()
    return templates.TemplateResponse(
        request, "admin_classifiers.html", {"account": account, "classifiers": classifiers}
    )


@router.post("/classifiers/{name}")
@portal(audit=Audit.ADMIN_ACTION)
def update_classifier(
    name: str, request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    account.require_admin()
    check_csrf(account.csrf_token, form)
    classifier = get_classifier(session, name)
    try:
        threshold = float(form.get("threshold", classifier.threshold))
        overlap = int(form.get("review_overlap", classifier.review_overlap))
    except ValueError:
        raise InvalidRequest("threshold must be a number and overlap a whole number") from None
    if not 0.0 <= threshold <= 1.0 or not 1 <= overlap <= 10:
        raise InvalidRequest("threshold must be between 0 and 1, overlap between 1 and 10")
    classifier.threshold, classifier.review_overlap = threshold, overlap
    note(request, threshold=threshold, review_overlap=overlap)
    return RedirectResponse("/admin/classifiers", status_code=303)


@router.get("/conflicts", response_class=HTMLResponse)
@portal(audit=Audit.ADMIN_ACTION)
def conflicts_page(request: Request, session: SessionDep, account: PortalAccount) -> Response:
    account.require_admin()
    tasks = session.scalars(
        select(ReviewTask)
        .where(ReviewTask.status == ReviewStatus.CONFLICT)
        .order_by(ReviewTask.created_at)
    ).all()
    votes = {
        task.id: session.execute(
            select(User.email, ReviewDecision.label)
            .join(User, User.id == ReviewDecision.user_id)
            .where(ReviewDecision.task_id == task.id, ReviewDecision.label != SKIPPED)
        ).all()
        for task in tasks
    }
    names = {c.id: c.name for c in session.scalars(select(Classifier))}
    return templates.TemplateResponse(
        request,
        "admin_conflicts.html",
        {"account": account, "tasks": tasks, "votes": votes, "names": names},
    )


@router.post("/conflicts/{task_id}")
@portal(audit=Audit.ADMIN_ACTION)
def resolve_conflict(
    task_id: str, request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    account.require_admin()
    check_csrf(account.csrf_token, form)
    label = form.get("label", "")
    task = assignments.resolve_conflict(session, task_id, label)
    classifier = session.get(Classifier, task.classifier_id)
    note(request, classifier=classifier.name if classifier else None, label=label)
    return RedirectResponse("/admin/conflicts", status_code=303)


@router.get("/stats", response_class=HTMLResponse)
@portal(audit=Audit.ADMIN_ACTION)
def stats_page(request: Request, session: SessionDep, account: PortalAccount) -> Response:
    account.require_admin()
    return templates.TemplateResponse(
        request, "admin_stats.html", {"account": account, "reviewers": reviewer_stats(session)}
    )


@router.get("/history", response_class=HTMLResponse)
@portal(audit=Audit.ADMIN_ACTION)
def history_page(request: Request, session: SessionDep, account: PortalAccount) -> Response:
    account.require_admin()
    rows = session.execute(
        select(ReviewDecision, User.email, ReviewTask.text, Classifier.name)
        .join(User, User.id == ReviewDecision.user_id)
        .join(ReviewTask, ReviewTask.id == ReviewDecision.task_id)
        .join(Classifier, Classifier.id == ReviewTask.classifier_id)
        .order_by(ReviewDecision.id.desc())
        .limit(HISTORY_ROWS)
    ).all()
    return templates.TemplateResponse(
        request, "admin_history.html", {"account": account, "rows": rows}
    )


def _limits(form: dict[str, str]) -> dict[str, Any]:
    """The key form's expiry (a date: the key stops at its start, UTC) and plan; blank is none."""
    kinds: dict[str, type[int] | type[float]] = {
        "monthly_quota": int,
        "rate_per_second": float,
        "burst": int,
    }
    values = {field: form.get(field, "").strip() for field in ("expires_at", *kinds)}
    try:
        limits: dict[str, Any] = {
            field: kind(values[field]) if values[field] else None for field, kind in kinds.items()
        }
        expires = values["expires_at"]
        limits["expires_at"] = (
            as_utc(datetime.fromisoformat(expires)).astimezone(UTC) if expires else None
        )
    except ValueError:
        raise InvalidRequest(
            "the expiry must be a date, quota and burst whole numbers and the rate a number"
        ) from None
    return limits


@router.get("/audit", response_class=HTMLResponse)
@portal(audit=Audit.ADMIN_ACTION)
def audit_page(
    request: Request,
    session: SessionDep,
    account: PortalAccount,
    where: AuditQuery,
    before_id: Cursor = None,
) -> Response:
    """The audit log, newest first, with the filters of ``GET /v1/audit`` as a plain form."""
    account.require_admin()
    entries = list_entries(session, where, before_id, AUDIT_ROWS)
    chosen = {k: v for k, v in request.query_params.items() if k != "before_id" and v}
    older = (
        f"/admin/audit?{urlencode({**chosen, 'before_id': entries[-1].id})}"
        if len(entries) == AUDIT_ROWS
        else None
    )
    return templates.TemplateResponse(
        request,
        "admin_audit.html",
        {
            "account": account,
            "entries": [entry_dict(entry) for entry in entries],
            "filters": chosen,
            "older": older,
        },
    )


def _names(text: str) -> list[str] | None:
    names = [name.strip() for name in text.split(",") if name.strip()]
    return names or None
