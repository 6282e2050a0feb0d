"""Failed portal sign-ins, counted per account and per source address, in the database.

After ``ACCOUNT_LIMIT`` failures for one email, or ``ADDRESS_LIMIT`` from one address, within
``WINDOW``, further attempts are refused before the password is looked at (the right one too)
until the oldest of those failures leaves the window: guessing costs a quarter of an hour per
few tries instead of a fraction of a second each.

The invariant, across any number of server processes sharing the database: every attempt is
written and committed *before* it is checked and counted, so an attempt always sees the ones
that started before it, and two at once each see the other. Interleaved attempts can only be
refused more, never admitted more. A refused attempt deletes its own rows (hammering a locked
account does not lengthen the lock); a successful one deletes its own rows and the account's
earlier failures, but not the address's (signing in to one's own account does not buy more
guesses at others'). A failed attempt's rows simply stay. The email is counted as typed (lower
case), whether or not such an account exists, so the throttle says nothing about which do.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from textloop.errors import TooManyRequests
from textloop.store.database import commit_early
from textloop.store.tables import SignInFailure, as_utc, utcnow

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20  # several people behind one proxy or NAT share an address
WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Attempt:
    """An admitted sign-in attempt: its rows, already counted as failures until it succeeds."""

    row_ids: tuple[int, ...]
    account: str  # the account's subject


def begin_attempt(session: Session, email: str, address: str | None) -> Attempt:
    """Record the attempt (and commit it), then admit it or raise ``TooManyRequests`` with
    ``Retry-After``: the seconds until the oldest counted failure leaves the window."""
    now = utcnow()
    limits = {_subject("account", email): ACCOUNT_LIMIT}
    if address:
        limits[_subject("address", address)] = ADDRESS_LIMIT
    # every failure that has left the window, whoever it was for: spraying many made-up emails
    # must not grow the table for ever
    session.execute(delete(SignInFailure).where(SignInFailure.at <= now - WINDOW))
    rows = [SignInFailure(subject=subject, at=now) for subject in limits]
    session.add_all(rows)
    commit_early(session)  # counted by every attempt that checks from now on, in any process
    own = tuple(row.id for row in rows)
    waits = [_wait(session, subject, limit, own, now) for subject, limit in limits.items()]
    wait = max(waits)
    if wait > timedelta(0):
        session.execute(delete(SignInFailure).where(SignInFailure.id.in_(own)))
        commit_early(session)  # kept although the refusal below rolls the caller's scope back
        seconds = max(1, math.ceil(wait.total_seconds()))
        minutes = math.ceil(seconds / 60)
        raise TooManyRequests(
            "too many failed sign-ins for this account or from this address: "
            f"try again in {minutes} minute{'s' if minutes != 1 else ''}",
            headers={"Retry-After": str(seconds)},
        )
    return Attempt(own, rows[0].subject)


def succeeded(session: Session, attempt: Attempt) -> None:
    """The password was right: the attempt and the account's earlier failures are forgotten
    (in the caller's transaction, with the new session)."""
    session.execute(
        delete(SignInFailure).where(
            (SignInFailure.id.in_(attempt.row_ids)) | (SignInFailure.subject == attempt.account)
        )
    )


def _wait(
    session: Session, subject: str, limit: int, own: tuple[int, ...], now: datetime
) -> timedelta:
    """How long until fewer than ``limit`` other attempts on ``subject`` are in the window."""
    earlier = [
        as_utc(at)
        for at in session.scalars(
            select(SignInFailure.at)
            .where(
                SignInFailure.subject == subject,
                SignInFailure.at > now - WINDOW,
                SignInFailure.id.not_in(own),
            )
            .order_by(SignInFailure.at)
        )
    ]
    if len(earlier) < limit:
        return timedelta(0)
    return earlier[len(earlier) - limit] + WINDOW - now


def _subject(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value.strip().lower()}".encode()).hexdigest()
