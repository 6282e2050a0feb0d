"""API keys: 256 random bits shown once, stored as SHA-256, checked against scopes.

A slow password hash is unnecessary for keys this long (no dictionary to try), and a fast one
lets every request be authenticated by one indexed lookup. ``admin`` implies every other scope;
a key limited to some classifiers cannot touch the others.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.errors import AuthError, Forbidden, InvalidRequest
from textloop.store.tables import ApiKey, User

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


@dataclass(frozen=True)
class Principal:
    """Who is calling: the authenticated key, detached from the session that loaded it.

    ``user_id`` is set for a reviewer's own key, which records review decisions as that person.
    """

    key_id: int
    scopes: frozenset[str]
    classifiers: frozenset[str] | None
    user_id: int | None = None

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


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(
    session: Session,
    scopes: list[str],
    classifiers: list[str] | None = None,
    name: str = "",
    user_email: str | None = None,
) -> IssuedKey:
    """Issue a key; with ``user_email`` it is that person's own, limited to what they may do."""
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
    )


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
    if "admin" in scopes and user.role != "admin":
        raise InvalidRequest(
            f"{user.email} is a reviewer; their key cannot be admin", field="scopes"
        )
    outside = set(classifiers or []) - set(user.classifiers or [])
    if user.classifiers is not None and outside:
        raise InvalidRequest(
            f"{user.email} is not assigned to {', '.join(sorted(outside))}", field="classifiers"
        )
    return user


def authenticate(session: Session, presented: str | None) -> Principal:
    if not presented:
        raise AuthError("missing API key: send it in the x-api-key header or as a Bearer token")
    digest = hash_key(presented)
    found = valid_keys(session, [digest])
    if digest in found:
        return found[digest]
    record = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    if record is not None and record.revoked_at is None and record.user_id is not None:
        raise AuthError("this API key's portal account is disabled")
    raise AuthError("invalid or revoked API key")


def valid_keys(session: Session, hashes: list[str]) -> dict[str, Principal]:
    """The principals of those of ``hashes`` that are keys neither revoked nor owned by a
    disabled account, by hash, in one query."""
    rows = session.execute(
        select(ApiKey, User.disabled)
        .outerjoin(User, User.id == ApiKey.user_id)
        .where(ApiKey.key_hash.in_(hashes), ApiKey.revoked_at.is_(None))
    ).all()
    return {
        record.key_hash: Principal(
            key_id=record.id,
            scopes=frozenset(record.scopes),
            classifiers=frozenset(record.classifiers) if record.classifiers is not None else None,
            user_id=record.user_id,
        )
        for record, disabled in rows
        if not disabled
    }
