"""API keys: 256 random bits shown once, stored as SHA-256, checked against scopes.

A slow password hash is unnecessary for keys this long (no dictionary to try), and a fast one
lets every request be authenticated by one indexed lookup. ``admin`` implies every other scope;
a key limited to some classifiers cannot touch the others. A key may expire, and may carry a
usage plan (``security.usage``); its last use is recorded in batches, never per request.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from textloop.errors import AuthError, Forbidden, InvalidRequest, NotFound
from textloop.security.usage import Plan, make_plan
from textloop.store.tables import ApiKey, Role, User, as_utc, utcnow

SCOPES = ("classify", "feedback", "review", "metrics", "admin")
KEY_PREFIX = "tl_"


@dataclass(frozen=True)
class IssuedKey:
    id: int
    key: str
    prefix: str
    scopes: list[str]
    classifiers: list[str] | None
    user: str | None = None
    expires_at: datetime | None = None
    plan: Plan | None = None


@dataclass(frozen=True)
class Principal:
    """Who is calling: the authenticated key, detached from the session that loaded it.

    ``user_id`` is set for a reviewer's own key, which records review decisions as that person.
    ``expires_at`` travels with it so that a remembered key stops working at that moment.
    """

    key_id: int
    scopes: frozenset[str]
    classifiers: frozenset[str] | None
    user_id: int | None = None
    expires_at: datetime | None = None
    plan: Plan | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def require_reviewer(self) -> int:
        if self.user_id is None:
            raise Forbidden(
                "review decisions need a reviewer's own key: textloop keys create --user EMAIL"
            )
        return self.user_id

    def require(self, scope: str, classifier: str | None = None) -> None:
        if scope not in self.scopes and "admin" not in self.scopes:
            raise Forbidden(f"this API key lacks the {scope!r} scope")
        limited = classifier is not None and self.classifiers is not None
        if limited and classifier not in self.classifiers:  # type: ignore[operator]
            raise Forbidden(f"this API key may not use classifier {classifier!r}")

    def require_owned(self, scope: str, classifier: str | None, missing: str) -> None:
        """``require`` for a thing found by its id: a thing of a classifier this key may not
        use is answered as ``missing`` (404), so that the answer names no other classifier and
        tells nothing of what exists beyond its reach."""
        limited = classifier is not None and self.classifiers is not None
        if limited and classifier not in self.classifiers:  # type: ignore[operator]
            raise NotFound(missing)
        self.require(scope, classifier)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(
    session: Session,
    scopes: list[str],
    classifiers: list[str] | None = None,
    name: str = "",
    user_email: str | None = None,
    *,
    expires_at: datetime | None = None,
    monthly_quota: int | None = None,
    rate_per_second: float | None = None,
    burst: int | None = None,
) -> IssuedKey:
    """Issue a key; with ``user_email`` it is that person's own, limited to what they may do.

    ``expires_at`` (UTC when naive) must lie ahead; the plan's ``burst`` defaults to a second's
    worth of ``rate_per_second`` (at least 1)."""
    if expires_at is not None:
        expires_at = as_utc(expires_at).astimezone(UTC)  # SQLite keeps no zone: store UTC
        if expires_at <= utcnow():
            raise InvalidRequest("the expiry must lie in the future", field="expires_at")
    plan = make_plan(monthly_quota, rate_per_second, burst)
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InvalidRequest(
            f"unknown scope(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(SCOPES)}",
            field="scopes",
        )
    user = _key_owner(session, user_email, scopes, classifiers) if user_email else None
    if user is not None and classifiers is None and user.classifiers is not None:
        classifiers = list(user.classifiers)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(
        name=name,
        prefix=key[:10],
        key_hash=hash_key(key),
        scopes=sorted(set(scopes)),
        classifiers=sorted(set(classifiers)) if classifiers else None,
        user_id=user.id if user else None,
        expires_at=expires_at,
        monthly_quota=plan.monthly_quota if plan else None,
        rate_per_second=plan.rate_per_second if plan else None,
        burst=plan.burst if plan else None,
    )
    session.add(record)
    session.flush()
    return IssuedKey(
        record.id,
        key,
        record.prefix,
        record.scopes,
        record.classifiers,
        user.email if user else None,
        expires_at,
        plan,
    )


def revoke_api_key(session: Session, key_id: int) -> ApiKey:
    """Revoke a key (again is harmless); every server refuses it within a second."""
    record = session.get(ApiKey, key_id)
    if record is None:
        raise NotFound(f"API key {key_id} does not exist")
    record.revoked_at = record.revoked_at or utcnow()
    return record


def _key_owner(
    session: Session, email: str, scopes: list[str], classifiers: list[str] | None
) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or user.disabled:
        raise InvalidRequest(f"no active portal account {email!r}", field="user")
    if "metrics" in scopes:  # /metrics spans every classifier; a person's key must not
        raise InvalidRequest(
            "a portal account's own key cannot have the metrics scope", field="scopes"
        )
    if "admin" in scopes and user.role != Role.ADMIN:
        raise InvalidRequest(
            f"{user.email} is a reviewer; their key cannot be admin", field="scopes"
        )
    outside = set(classifiers or []) - set(user.classifiers or [])
    if user.classifiers is not None and outside:
        raise InvalidRequest(
            f"{user.email} is not assigned to {', '.join(sorted(outside))}", field="classifiers"
        )
    return user


def authenticate(session: Session, presented: str | None, now: datetime | None = None) -> Principal:
    if not presented:
        raise AuthError("missing API key: send it in the x-api-key header or as a Bearer token")
    now = now or utcnow()
    digest = hash_key(presented)
    found = valid_keys(session, [digest], now)
    if digest in found:
        return found[digest]
    record = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    if record is not None and record.revoked_at is None:
        if record.expires_at is not None and as_utc(record.expires_at) <= now:
            when = as_utc(record.expires_at).strftime("%Y-%m-%d %H:%M:%S UTC")
            raise AuthError(f"this API key expired at {when}")
        if record.user_id is not None:
            raise AuthError("this API key's portal account is disabled")
    raise AuthError("invalid or revoked API key")


def valid_keys(
    session: Session, hashes: list[str], now: datetime | None = None
) -> dict[str, Principal]:
    """The principals of those of ``hashes`` that are keys neither revoked, expired nor owned by
    a disabled account, by hash, in one query."""
    now = now or utcnow()
    rows = session.execute(
        select(ApiKey, User.disabled)
        .outerjoin(User, User.id == ApiKey.user_id)
        .where(
            ApiKey.key_hash.in_(hashes),
            ApiKey.revoked_at.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
        )
    ).all()
    return {
        record.key_hash: Principal(
            key_id=record.id,
            scopes=frozenset(record.scopes),
            classifiers=frozenset(record.classifiers) if record.classifiers is not None else None,
            user_id=record.user_id,
            expires_at=as_utc(record.expires_at) if record.expires_at is not None else None,
            plan=Plan.of(record),
        )
        for record, disabled in rows
        if not disabled
    }


def record_use(session: Session, key_ids: Collection[int], when: datetime) -> None:
    """Mark keys used at ``when``, in one statement (a later mark from elsewhere stands)."""
    if not key_ids:
        return
    session.execute(
        update(ApiKey)
        .where(
            ApiKey.id.in_(list(key_ids)),
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < when),
        )
        .values(last_used_at=when)
    )
