"""Idempotency claims: only the request holding a claim finishes or releases it."""

import pytest
from sqlalchemy import update

from textloop.errors import RequestInProgress
from textloop.security.api_keys import create_api_key
from textloop.serving.idempotency import ABANDONED_AFTER, Answer, Claim, claim, finish, release
from textloop.store import Store
from textloop.store.tables import IdempotentRequest, utcnow

pytestmark = pytest.mark.storage


def test_a_claim_taken_over_is_not_overwritten_or_released_by_its_first_holder(
    store: Store,
) -> None:
    with store.session() as session:
        key_id = create_api_key(session, ["admin"]).id
    first = claim(store, key_id, "k1", "hash")
    assert isinstance(first, Claim)
    with store.session() as session:  # the first request seems to have died with its server
        session.execute(update(IdempotentRequest).values(created_at=utcnow() - 2 * ABANDONED_AFTER))
    second = claim(store, key_id, "k1", "hash")
    assert isinstance(second, Claim) and second.owner != first.owner

    finish(store, first, Answer(201, {"by": "first"}))  # it was only slow: too late now
    release(store, first)
    with pytest.raises(RequestInProgress):
        claim(store, key_id, "k1", "hash")  # still the second's

    finish(store, second, Answer(201, {"by": "second"}))
    assert claim(store, key_id, "k1", "hash") == Answer(201, {"by": "second"})


def test_a_released_claim_may_be_claimed_again(store: Store) -> None:
    with store.session() as session:
        key_id = create_api_key(session, ["admin"]).id
    held = claim(store, key_id, "k2", "hash")
    assert isinstance(held, Claim)
    release(store, held)
    assert isinstance(claim(store, key_id, "k2", "hash"), Claim)
