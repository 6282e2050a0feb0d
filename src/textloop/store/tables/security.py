"""Who may do what: portal accounts and their sessions, API keys and their usage, the audit log,
sign-in failures, and the stored answers of idempotent requests."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from textloop.store.tables.base import Base, utcnow


class Role(StrEnum):
    ADMIN = "admin"  # sees and may change everything
    REVIEWER = "reviewer"  # reviews the classifiers the account names (all when it names none)


class User(Base):
    """A person who signs in to the portal: an ``admin``, or a ``reviewer`` of some classifiers."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # a Role
    classifiers: Mapped[list[str] | None] = mapped_column(JSON, default=None)  # None: all
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PortalSession(Base):
    __tablename__ = "portal_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class SignInFailure(Base):
    """A failed (or still running) portal sign-in, counted against ``subject``: the SHA-256 of
    the email tried or of the address it came from (``security.throttle``; 0016). Hashed, so
    that a password typed into the email field is not kept readable."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_subject", "subject", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """Only the SHA-256 of a key is stored; the key itself is shown once at creation."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(default=list)
    classifiers: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    user_id: Mapped[int | None] = mapped_column(  # a reviewer's own key: decides as that person
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)  # to the second or so
    # The usage plan; None is unlimited. Requests per calendar month (UTC), and a token bucket:
    # ``rate_per_second`` refills it, ``burst`` is its size.
    monthly_quota: Mapped[int | None] = mapped_column(Integer, default=None)
    rate_per_second: Mapped[float | None] = mapped_column(Float, default=None)
    burst: Mapped[int | None] = mapped_column(Integer, default=None)


class KeyUsage(Base):
    """One key's requests in one calendar month, and its rate bucket: the row every server
    process locks to admit a request of a key with a plan, so counts are exact across them."""

    __tablename__ = "key_usage"

    api_key_id: Mapped[int] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11"
    requests: Mapped[int] = mapped_column(Integer, default=0)  # admitted
    refused: Mapped[int] = mapped_column(Integer, default=0)  # answered 429
    tokens: Mapped[float] = mapped_column(Float, default=0.0)
    tokens_at: Mapped[float] = mapped_column(Float, default=0.0)  # Unix time of ``tokens``
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who did what, when and from where: every admin action and every review decision.

    No foreign keys: the log outlives the keys, accounts and classifiers it names.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(300))  # "key 3 tl_AbCdEfG (ci)", "user a@b.c"
    api_key_id: Mapped[int | None] = mapped_column(Integer, default=None)
    user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    action: Mapped[str] = mapped_column(String(200))  # "POST /v1/classifiers/{name}/deployments"
    target: Mapped[str | None] = mapped_column(String(300), default=None)
    status: Mapped[int | None] = mapped_column(Integer, default=None)
    source: Mapped[str | None] = mapped_column(String(300), default=None)  # address, or cli host
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class IdempotentRequest(Base):
    """The answer to a request sent with an ``Idempotency-Key``, replayed when it is resent."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))  # method, path, query and body
    # the claim's holder (a random token): only it may finish or release the claim
    owner: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
