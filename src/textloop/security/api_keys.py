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
from textloop.store.tables import ApiKey

SCOPES = ("classify", "feedback", "review", "admin")
KEY_PREFIX = "tl_"


@dataclass(frozen=True)
class IssuedKey:
    id: int
    key: str
    prefix: str
    scopes: list[str]
    classifiers: list[str] | None


@dataclass(frozen=True)
class Principal:
    """Who is calling: the authenticated key, detached from the session that loaded it."""

    key_id: int
    scopes: frozenset[str]
    classifiers: frozenset[str] | None

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
) -> IssuedKey:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InvalidRequest(
            f"unknown scope(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(SCOPES)}",
            field="scopes",
        )
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(
        name=name,
        prefix=key[:10],
        key_hash=hash_key(key),
        scopes=sorted(set(scopes)),
        classifiers=sorted(set(classifiers)) if classifiers else None,
    )
    session.add(record)
    session.flush()
    return IssuedKey(record.id, key, record.prefix, record.scopes, record.classifiers)


def authenticate(session: Session, presented: str | None) -> Principal:
    if not presented:
        raise AuthError("missing API key: send it in the x-api-key header or as a Bearer token")
    record = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(presented)))
    if record is None or record.revoked_at is not None:
        raise AuthError("invalid or revoked API key")
    return Principal(
        key_id=record.id,
        scopes=frozenset(record.scopes),
        classifiers=frozenset(record.classifiers) if record.classifiers is not None else None,
    )
