"""``Idempotency-Key``: a request sent again gets the first answer instead of running again.

The first request with a key claims it: a row of ``idempotent_requests`` (status 0 while it
runs) committed before the work starts, so that of concurrent duplicates the unique (API key,
key) constraint lets exactly one through. When the work succeeds, the row takes its status and
response, and every resend of the same request (method, path, query and body hash alike) is
answered from it; when the work fails, the row is deleted: a refused request changes nothing and
may be sent again. The same key with another request is 422; a resend while the first still
runs is 409. A claim left behind by a server killed mid-request is taken over after
``ABANDONED_AFTER``; each claim carries an owner token, and only its holder finishes or
releases it, so a first holder that was merely slow cannot overwrite (or delete) the claim of
the request that took over.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request

from textloop.errors import IdempotencyKeyReused, InvalidRequest, RequestInProgress
from textloop.store.database import Store
from textloop.store.tables import IdempotentRequest, as_utc, utcnow

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEY = re.compile(r"[\x20-\x7e]{1,200}")  # printable ASCII
RUNNING = 0  # the status of a claimed key whose request has not answered yet
ABANDONED_AFTER = timedelta(hours=1)
KEPT_FOR = timedelta(hours=24)  # how long a key is remembered (``forget_old``)


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Claim:
    """A key this request holds: ``finish`` or ``release`` it."""

    api_key_id: int
    key: str
    owner: str


def checked_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not KEY.fullmatch(value):
        raise InvalidRequest(
            f"{HEADER} must be 1 to 200 printable ASCII characters", field=HEADER.lower()
        )
    return value


def request_digest(request: Request) -> hashlib._Hash:
    """A SHA-256 of the method, path and query, to be fed the body as it streams in."""
    scope = request.scope
    head = f"{scope['method']} {scope['path']}?{scope['query_string'].decode('latin-1')}\n"
    return hashlib.sha256(head.encode("utf-8"))


def claim(store: Store, api_key_id: int, key: str, request_hash: str) -> Claim | Answer:
    """A ``Claim`` when this request now holds the key; else the stored answer of the earlier
    request, to be replayed."""
    mine = Claim(api_key_id, key, secrets.token_hex(16))
    for _ in range(3):  # a key released between our insert and our read is claimed again
        try:
            with store.session() as session:
                session.add(
                    IdempotentRequest(
                        api_key_id=api_key_id,
                        key=key,
                        request_hash=request_hash,
                        owner=mine.owner,
                        status=RUNNING,
                        response={},
                    )
                )
            return mine
        except IntegrityError:
            pass
        with store.session() as session:
            earlier = session.scalar(_row(api_key_id, key))
            if earlier is None:
                continue
            if earlier.request_hash != request_hash:
                raise IdempotencyKeyReused(
                    f"{HEADER} {key!r} was used for another request; use a new key for this one",
                    field=HEADER.lower(),
                )
            if earlier.status != RUNNING:
                return Answer(earlier.status, dict(earlier.response))
            abandoned = utcnow() - ABANDONED_AFTER
            if as_utc(earlier.created_at) < abandoned:
                taken = session.scalar(
                    update(IdempotentRequest)
                    .where(
                        IdempotentRequest.id == earlier.id,
                        IdempotentRequest.status == RUNNING,
                        IdempotentRequest.created_at < abandoned,
                    )
                    .values(created_at=utcnow(), owner=mine.owner)
                    .returning(IdempotentRequest.id)
                    # the row read above is stale now; comparing it in Python would mix
                    # SQLite's naive times with aware ones
                    .execution_options(synchronize_session=False)
                )
                if taken is not None:  # and not by a concurrent resend
                    return mine
        raise RequestInProgress(
            f"the request with {HEADER} {key!r} is still running; send it again later",
            field=HEADER.lower(),
            headers={"Retry-After": "1"},
        )
    raise RequestInProgress(f"the request with {HEADER} {key!r} keeps failing; send it again")


def finish(store: Store, held: Claim, answer: Answer) -> None:
    """Store the answer, if the claim is still this request's."""
    with store.session() as session:
        stored = session.scalar(
            update(IdempotentRequest)
            .where(*_held(held), IdempotentRequest.status == RUNNING)
            .values(status=answer.status, response=answer.body)
            .returning(IdempotentRequest.id)
        )
    if stored is None:
        log.warning(
            "%s %r was taken over while its first request ran; its answer is not kept",
            HEADER,
            held.key,
        )


def release(store: Store, held: Claim) -> None:
    """Give the key up (the request failed), if the claim is still this request's."""
    with store.session() as session:
        session.execute(
            delete(IdempotentRequest).where(*_held(held), IdempotentRequest.status == RUNNING)
        )


def forget_old(store: Store, kept_for: timedelta = KEPT_FOR) -> int:
    """Forget keys claimed longer ago than ``kept_for``, answered or abandoned; how many."""
    with store.session() as session:
        gone = session.execute(
            delete(IdempotentRequest)
            .where(IdempotentRequest.created_at < utcnow() - kept_for)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(gone, "rowcount", 0) or 0)


def _row(api_key_id: int, key: str) -> Any:
    return select(IdempotentRequest).where(
        IdempotentRequest.api_key_id == api_key_id, IdempotentRequest.key == key
    )


def _held(held: Claim) -> tuple[Any, ...]:
    return (
        IdempotentRequest.api_key_id == held.api_key_id,
        IdempotentRequest.key == held.key,
        IdempotentRequest.owner == held.owner,
    )
