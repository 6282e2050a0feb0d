"""Admin pages: API keys (shown once; expiry, plan, this month's usage), users (add, disable,
enable, remove), classifiers' review settings and guidelines, reviewers' statistics, and the
audit log; the conflicts and the review history are ``admin_review``'s, included here.

Every page requires the ``admin`` role; every form checks its CSRF token first. After a change
the page says what was done: the address names only the thing and the change (``?revoked=3``),
and the words are read back from the database (a removed account, from the audit log), so that
a link cannot put words of its own on the page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from textloop.errors import InvalidRequest, NotFound
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
from textloop.serving.portal import admin_review, markdown
from textloop.serving.portal.paging import older_link
from textloop.serving.portal.session import Form, PortalAccount, check_csrf
from textloop.serving.portal.templating import templates
from textloop.serving.routes.audit import AuditQuery, Cursor
from textloop.serving.schemas import MAX_ROW_ID
from textloop.store.queries import get_classifier
from textloop.store.tables import ApiKey, AuditEntry, Classifier, Role, User, as_utc

router = APIRouter(prefix="/admin", include_in_schema=False)
router.include_router(admin_review.router)
AUDIT_ROWS = 100

RowId = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]
UserChange = Literal["added", "disabled", "enabled", "removed"]
USER_CHANGES: dict[str, str] = {  # what the users page says after each change
    "added": "Added {email} ({role})",
    "disabled": "Disabled {email}: signed out, and cannot sign in until enabled again",
    "enabled": "Enabled {email}: can sign in again",
    "removed": "Removed {email}",
}
REMOVE_ACTION = "POST /admin/users/{user_id}/remove"  # its audit entries name who was removed


@router.get("/keys", response_class=HTMLResponse)
@portal(audit=Audit.ADMIN_ACTION)
def keys_page(
    request: Request, session: SessionDep, account: PortalAccount, revoked: RowId = None
) -> Response:
    """``revoked`` names the key just revoked."""
    account.require_admin()
    return _keys_page(request, session, account, new_key=None, revoked=revoked)


def _keys_page(
    request: Request,
    session: SessionDep,
    account: PortalAccount,
    new_key: str | None,
    revoked: int | None = None,
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
            "confirmed": _revoked(session, revoked),
        },
    )


def _revoked(session: SessionDep, key_id: int | None) -> str | None:
    key = session.get(ApiKey, key_id) if key_id else None
    if key is None or key.revoked_at is None:
        return None
    return f"Revoked key {_key_label(key)}: requests with it are refused from now on"


def _key_label(key: ApiKey) -> str:
    """How pages name a key: its prefix, and whom it is for."""
    return f"{key.prefix}…" + (f" ({key.name})" if key.name else "")


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
    return RedirectResponse(f"/admin/keys?revoked={key_id}", status_code=303)


@router.get("/users", response_class=HTMLResponse)
@portal(audit=Audit.ADMIN_ACTION)
def users_page(
    request: Request,
    session: SessionDep,
    account: PortalAccount,
    did: UserChange | None = None,
    user: RowId = None,
) -> Response:
    """``did`` to ``user``: the change just made, to confirm."""
    account.require_admin()
    return templates.TemplateResponse(
        request,
        "admin_users.html",
        {
            "account": account,
            "users": list_users(session),
            "roles": ROLES,
            "confirmed": _user_change(session, account, did, user),
        },
    )


def _user_change(
    session: SessionDep, account: PortalAccount, did: str | None, user_id: int | None
) -> str | None:
    """What was just done to the account, if the database agrees that it was."""
    if did is None or user_id is None:
        return None
    if did == "removed":
        email = _removed_email(session, account, user_id)
        return None if email is None else USER_CHANGES[did].format(email=email)
    user = session.get(User, user_id)
    if user is None or user.disabled != (did == "disabled"):
        return None
    return USER_CHANGES[did].format(email=user.email, role=user.role)


def _removed_email(session: SessionDep, account: PortalAccount, user_id: int) -> str | None:
    """The email of an account this admin removed: the account is gone, its removal's audit
    entry names it."""
    if session.get(User, user_id) is not None:
        return None
    entries = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.user_id == account.user_id,
            AuditEntry.action == REMOVE_ACTION,
            AuditEntry.status == 303,
        )
        .order_by(AuditEntry.id.desc())
        .limit(20)
    )
    return next((e.target for e in entries if (e.details or {}).get("user_id") == user_id), None)


def _users_after(did: str, user_id: int) -> RedirectResponse:
    return RedirectResponse(f"/admin/users?{urlencode({'did': did, 'user': user_id})}", 303)


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
    return _users_after("added", user.id)


@router.post("/users/{user_id}/disable")
@portal(audit=Audit.ADMIN_ACTION)
def disable_user_from_form(
    user_id: int, request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    """The person cannot sign in any more; their sessions end now."""
    user = _user_to_change(user_id, request, session, account, form)
    disable_user(session, user)
    return _users_after("disabled", user.id)


@router.post("/users/{user_id}/enable")
@portal(audit=Audit.ADMIN_ACTION)
def enable_user_from_form(
    user_id: int, request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    user = _user_to_change(user_id, request, session, account, form)
    enable_user(session, user)
    return _users_after("enabled", user.id)


@router.post("/users/{user_id}/remove")
@portal(audit=Audit.ADMIN_ACTION)
def remove_user_from_form(
    user_id: int, request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    """Refused (422, nothing changed) while the person has review decisions."""
    user = _user_to_change(user_id, request, session, account, form)
    user_id = user.id
    remove_user(session, user)
    return _users_after("removed", user_id)


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
    note(request, user.email, role=user.role, user_id=user.id)
    return user


@router.get("/classifiers", response_class=HTMLResponse)
@portal(audit=Audit.ADMIN_ACTION)
def classifiers_page(
    request: Request,
    session: SessionDep,
    account: PortalAccount,
    saved: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """``saved`` names the classifier whose settings were just saved."""
    account.require_admin()
    classifiers = session.scalars(select(Classifier).order_by(Classifier.name)).all()
    return templates.TemplateResponse(
        request,
        "admin_classifiers.html",
        {
            "account": account,
            "classifiers": classifiers,
            "previews": {c.name: markdown.render(c.guidelines) for c in classifiers},
            "confirmed": f"Saved {saved}" if saved in {c.name for c in classifiers} else None,
        },
    )


@router.post("/classifiers/{name}")
@portal(audit=Audit.ADMIN_ACTION)
def update_classifier(
    name: str, request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    """The review threshold, the reviewers per task, whether answers may be "out of scope"
    (``on``/``off``), and the guidelines (markdown; empty clears them). A field the form leaves
    out keeps its value."""
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
    scope = form.get("out_of_scope", "on" if classifier.out_of_scope else "off")
    if scope not in ("on", "off"):
        raise InvalidRequest('out_of_scope must be "on" or "off"', field="out_of_scope")
    classifier.threshold, classifier.review_overlap = threshold, overlap
    classifier.out_of_scope = scope == "on"
    if "guidelines" in form:
        classifier.guidelines = form["guidelines"].strip() or None
    note(
        request,
        threshold=threshold,
        review_overlap=overlap,
        out_of_scope=classifier.out_of_scope,
        guidelines_chars=len(classifier.guidelines or ""),
    )
    return RedirectResponse(f"/admin/classifiers?{urlencode({'saved': name})}", status_code=303)


@router.get("/stats", response_class=HTMLResponse)
@portal(audit=Audit.ADMIN_ACTION)
def stats_page(request: Request, session: SessionDep, account: PortalAccount) -> Response:
    account.require_admin()
    return templates.TemplateResponse(
        request, "admin_stats.html", {"account": account, "reviewers": reviewer_stats(session)}
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
    older = older_link("/admin/audit", chosen, [entry.id for entry in entries], AUDIT_ROWS)
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
