"""The audit log: who changed what, when and from where.

Every admin action and every review decision leaves one ``AuditEntry``, whether it came over the
API (``serving.audit_trail`` writes it), through the portal (the same middleware) or from the
command line (``cli.audit.audit_command``). ``record`` writes an entry, the ``*_actor`` helpers
name who acted, and ``list_entries`` reads the log newest first by an id cursor.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.security.accounts import Account
from textloop.security.api_keys import Principal
from textloop.store.tables import ApiKey, AuditEntry, User, as_utc, utcnow

MAX_PAGE = 500
CLI_SOURCE = "cli"
REFUSALS = (401, 403, 429)
REPEATS_WITHIN = timedelta(minutes=1)


@dataclass(frozen=True)
class Actor:
    """Who acted, as the log names them, and the key and account behind that name, if any."""

    name: str
    api_key_id: int | None = None
    user_id: int | None = None


def record(
    session: Session,
    actor: Actor,
    action: str,
    target: str | None,
    status: int | None,
    source: str | None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry to ``session``; it is stored when the caller commits.

    A refusal (401, 403, 429) that repeats one already recorded for the same actor, action,
    target, source and status within ``REPEATS_WITHIN`` is counted on that entry
    (``details["repeated"]``) instead of adding a row: a key hammering a route it may not use
    cannot flood the log, and the log still says how often it tried.
    """
    if status in REFUSALS:
        earlier = session.scalar(
            select(AuditEntry)
            .where(
                AuditEntry.actor == actor.name[:300],
                AuditEntry.action == action[:200],
                AuditEntry.status == status,
                _same(AuditEntry.target, target[:300] if target is not None else None),
                _same(AuditEntry.source, source[:300] if source is not None else None),
                AuditEntry.at >= utcnow() - REPEATS_WITHIN,
            )
            .order_by(AuditEntry.id.desc())
            .limit(1)
            .with_for_update()
        )
        if earlier is not None:
            earlier.details = {
                **(earlier.details or {}),
                "repeated": int((earlier.details or {}).get("repeated", 0)) + 1,
            }
            session.flush()
            return earlier
    entry = AuditEntry(
        actor=actor.name[:300],
        api_key_id=actor.api_key_id,
        user_id=actor.user_id,
        action=action[:200],
        target=target[:300] if target is not None else None,
        status=status,
        source=source[:300] if source is not None else None,
        details=details or {},
    )
    session.add(entry)
    session.flush()
    return entry


def _same(column: Any, value: str | None) -> Any:
    return column.is_(None) if value is None else column == value


def key_actor(session: Session, principal: Principal) -> Actor:
    """``key 3 tl_AbCdEfG (ci)``; a person's own key names them first:
    ``user rita@example.com via key 5 tl_HiJkLmN``."""
    key = session.get(ApiKey, principal.key_id)
    named = f"key {principal.key_id}"
    if key is not None:
        named += f" {key.prefix}" + (f" ({key.name})" if key.name else "")
    user = session.get(User, principal.user_id) if principal.user_id is not None else None
    name = f"user {user.email} via {named}" if user is not None else named
    return Actor(name, api_key_id=principal.key_id, user_id=principal.user_id)


def account_actor(account: Account) -> Actor:
    """The person signed in to the portal."""
    return Actor(f"user {account.email}", user_id=account.user_id)


def cli_actor() -> Actor:
    """``cli alice@build-host``: the operating-system user running the command, and where."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        user = "unknown"
    return Actor(f"cli {user}@{socket.gethostname()}")


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to read; every field left ``None`` matches everything."""

    since: datetime | None = None
    until: datetime | None = None
    key_id: int | None = None
    actor: str | None = None  # a part of the actor's name
    action: str | None = None  # a part of the action, e.g. "deployments"
    target: str | None = None


def list_entries(
    session: Session,
    where: AuditFilter | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Entries newest first; pass the last one's id as ``before_id`` for the next page."""
    where = where or AuditFilter()
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, MAX_PAGE)))
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    if where.since is not None:
        query = query.where(AuditEntry.at >= where.since)
    if where.until is not None:
        query = query.where(AuditEntry.at < where.until)
    if where.key_id is not None:
        query = query.where(AuditEntry.api_key_id == where.key_id)
    if where.actor:
        query = query.where(AuditEntry.actor.contains(where.actor, autoescape=True))
    if where.action:
        query = query.where(AuditEntry.action.contains(where.action, autoescape=True))
    if where.target is not None:
        query = query.where(AuditEntry.target == where.target)
    return list(session.scalars(query))


def entry_dict(entry: AuditEntry) -> dict[str, Any]:
    """An entry as plain data, for JSON."""
    return {
        "id": entry.id,
        "at": as_utc(entry.at).astimezone(UTC).isoformat(),
        "actor": entry.actor,
        "api_key_id": entry.api_key_id,
        "user_id": entry.user_id,
        "action": entry.action,
        "target": entry.target,
        "status": entry.status,
        "source": entry.source,
        "details": entry.details,
    }
