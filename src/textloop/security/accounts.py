"""People who use the portal: admins and reviewers, their passwords and their sign-in sessions.

A session is a random token in an HttpOnly cookie, stored only as its SHA-256 (like API keys),
with its own CSRF token that every form must echo. A reviewer may be limited to some
classifiers; an admin sees everything.

Sign-in is throttled per account and per address (``throttle``) and does the same password work
whether or not the account exists. An account is disabled (it cannot sign in; its sessions and
review leases end at once), enabled again, or removed; removal is refused while the person has
review decisions, which must keep saying who made them (disable such an account instead). There
is always an active admin: the last one can be neither disabled nor removed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from textloop.errors import AuthError, Forbidden, InvalidRequest, NotFound
from textloop.security.passwords import (
    MIN_LENGTH,
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from textloop.security.throttle import begin_attempt, succeeded
from textloop.store.tables import (
    ApiKey,
    Classifier,
    PortalSession,
    ReviewDecision,
    ReviewLease,
    Role,
    User,
    utcnow,
)

ROLES = tuple(Role)
SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class Account:
    """The signed-in person, detached from the session that loaded them."""

    user_id: int
    email: str
    role: str
    classifiers: frozenset[str] | None
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def may_review(self, classifier: str) -> bool:
        return self.is_admin or self.classifiers is None or classifier in self.classifiers

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("this page is for admins")

    def require_classifier(self, classifier: str) -> None:
        if not self.may_review(classifier):
            raise Forbidden(f"you are not assigned to classifier {classifier!r}")


def require_assignment(session: Session, user_id: int, classifier: str) -> None:
    """Checked on each use of a reviewer's key, so a changed assignment applies at once."""
    user = session.get(User, user_id)
    if user is None or user.disabled:
        raise Forbidden("this portal account is disabled")
    if (
        user.role != Role.ADMIN
        and user.classifiers is not None
        and classifier not in user.classifiers
    ):
        raise Forbidden(f"{user.email} is not assigned to classifier {classifier!r}")


def create_user(
    session: Session,
    email: str,
    password: str,
    role: str,
    classifiers: list[str] | None = None,
) -> User:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise InvalidRequest(f"{email!r} is not an email address", field="email")
    if role not in ROLES:
        raise InvalidRequest(f"role must be one of {', '.join(ROLES)}, not {role!r}", field="role")
    if len(password) < MIN_LENGTH:
        raise InvalidRequest(
            f"the password must have at least {MIN_LENGTH} characters", field="password"
        )
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise InvalidRequest(f"a user {email!r} exists already", field="email")
    _require_classifiers(session, classifiers or [])
    user = User(
        email=email,
        password_hash=hash_password(password),
        role=role,
        classifiers=sorted(set(classifiers)) if classifiers else None,
    )
    session.add(user)
    session.flush()
    return user


def _require_classifiers(session: Session, names: list[str]) -> None:
    """Refuse an assignment to a classifier that does not exist: a typo would otherwise make a
    reviewer who can review nothing, with nobody told."""
    known = set(session.scalars(select(Classifier.name)))
    unknown = sorted(set(names) - known)
    if unknown:
        raise InvalidRequest(
            f"no classifier named {', '.join(map(repr, unknown))}; "
            f"the classifiers are {', '.join(sorted(known)) or '(none yet)'}",
            field="classifiers",
        )


def list_users(session: Session) -> list[User]:
    """Every portal account, by email: the portal's users page and ``textloop users list``."""
    return list(session.scalars(select(User).order_by(User.email)))


def sign_in(
    session: Session, email: str, password: str, address: str | None
) -> tuple[str, Account]:
    """A new session token for the right password; the same error, after the same work, for
    any wrong detail. Commits the attempt before checking it (see ``throttle``); raises
    ``TooManyRequests`` while the account or ``address`` has failed too often."""
    email = email.strip().lower()
    attempt = begin_attempt(session, email, address)
    user = session.scalar(select(User).where(User.email == email))
    active = user is not None and not user.disabled
    stored = user.password_hash if user is not None and active else dummy_hash()
    if not verify_password(stored, password) or user is None or not active:
        raise AuthError("wrong email or password")
    succeeded(session, attempt)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    token = secrets.token_urlsafe(32)
    row = PortalSession(
        token_hash=_digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + SESSION_LIFETIME,
    )
    session.add(row)
    session.flush()
    return token, _account(user, row)


def account_for(session: Session, token: str | None) -> Account | None:
    """The account of a live session token, or None."""
    if not token:
        return None
    row = session.scalar(
        select(PortalSession).where(
            PortalSession.token_hash == _digest(token), PortalSession.expires_at > utcnow()
        )
    )
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    return _account(user, row)


def sign_out(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(PortalSession).where(PortalSession.token_hash == _digest(token)))


def find_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"there is no portal account {email!r}: `textloop users list` shows them")
    return user


def disable_user(session: Session, user: User) -> int:
    """Stop the person signing in, now: their sessions and review leases end (their tasks go
    back to the queue). Returns how many sessions ended."""
    _keep_an_admin(session, user)
    user.disabled = True
    ended = session.execute(delete(PortalSession).where(PortalSession.user_id == user.id))
    session.execute(delete(ReviewLease).where(ReviewLease.user_id == user.id))
    session.flush()
    return int(getattr(ended, "rowcount", 0) or 0)


def enable_user(session: Session, user: User) -> None:
    user.disabled = False
    session.flush()


def remove_user(session: Session, user: User) -> None:
    """Delete the account, its sessions and leases, and revoke its own API keys; refused while
    it has review decisions, whose exports and statistics name who made them."""
    decisions = session.scalar(
        select(func.count()).select_from(ReviewDecision).where(ReviewDecision.user_id == user.id)
    )
    if decisions:
        raise InvalidRequest(
            f"{user.email} has made {decisions} review decision{'s' if decisions != 1 else ''}, "
            "which must keep their author: disable the account instead "
            f"(`textloop users disable {user.email}`)",
            field="email",
        )
    _keep_an_admin(session, user)
    # The person's own keys stay on record, revoked and no longer theirs: feedback they sent
    # and audit entries still name the key, so deleting it would break those references.
    now = utcnow()
    for key in session.scalars(select(ApiKey).where(ApiKey.user_id == user.id)):
        key.revoked_at = key.revoked_at or now
        key.user_id = None
    session.flush()
    session.delete(user)
    session.flush()


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse to disable or remove the last active admin. Every admin row is locked, in id
    order, so two admins disabling each other at once cannot both succeed (PostgreSQL)."""
    if user.role != Role.ADMIN:
        return
    admins = session.scalars(
        select(User)
        .where(User.role == Role.ADMIN)
        .order_by(User.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    if user.disabled:  # as it is now, the locks held
        return
    if not any(not admin.disabled and admin.id != user.id for admin in admins):
        raise InvalidRequest(
            f"{user.email} is the last active admin: make or enable another admin first",
            field="email",
        )


def _account(user: User, row: PortalSession) -> Account:
    limited = frozenset(user.classifiers) if user.classifiers is not None else None
    return Account(user.id, user.email, user.role, limited, row.csrf_token)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
