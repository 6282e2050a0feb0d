"""Events reach webhooks signed, in order, and again after a receiver's failure."""

import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.webhook_receiver import Receiver
from textloop.errors import InvalidRequest
from textloop.notifications import webhooks
from textloop.notifications.destinations import Destinations
from textloop.notifications.events import emit
from textloop.notifications.webhooks import Deliverer, add_webhook
from textloop.store import Store
from textloop.store.tables import DeliveryStatus, WebhookDelivery

pytestmark = pytest.mark.storage

DEAD, DELIVERED = DeliveryStatus.DEAD, DeliveryStatus.DELIVERED

SECRET = "a-secret-of-some-length"
# The receivers listen on loopback, which webhooks may reach only when the setting names it.
LOOPBACK = Destinations(["127.0.0.1"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver.running() as receiver:
        yield receiver


def test_events_arrive_signed_and_in_order_after_a_failed_attempt(
    store: Store, classifier_id: int, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "FIRST_RETRY", webhooks.FIRST_RETRY * 0)
    with store.session() as session:
        add_webhook(
            session, receiver.url, SECRET, "topics", ["run.started", "run.succeeded"], LOOPBACK
        )
    receiver.answers = [500]  # the first attempt fails
    emit(store, classifier_id, "run.started", classifier="topics")
    emit(store, classifier_id, "model.blessed", classifier="topics")  # not asked for
    emit(store, classifier_id, "run.succeeded", classifier="topics", version=2)
    deliverer = Deliverer(store, LOOPBACK)
    while deliverer.deliver_due():
        pass
    bodies = [json.loads(payload) for _, payload in receiver.received]
    assert [b["type"] for b in bodies] == ["run.started", "run.started", "run.succeeded"]
    assert bodies[-1]["classifier"] == "topics" and bodies[-1]["data"] == {
        "classifier": "topics",
        "version": 2,
    }
    for headers, payload in receiver.received:
        expected = hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest()
        assert headers["X-Textloop-Signature"] == f"sha256={expected}"
    with store.session() as session:
        deliveries = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    assert [(d.status, d.attempts) for d in deliveries] == [(DELIVERED, 2), (DELIVERED, 1)]
    assert deliveries[0].response_status == 200


def test_a_receiver_that_never_answers_well_ends_in_the_dead_letter(
    store: Store, classifier_id: int, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "FIRST_RETRY", webhooks.FIRST_RETRY * 0)
    with store.session() as session:
        add_webhook(session, receiver.url, SECRET, destinations=LOOPBACK)
    receiver.answers = [503] * webhooks.MAX_ATTEMPTS
    emit(store, classifier_id, "drift.detected", classifier="topics")
    deliverer = Deliverer(store, LOOPBACK)
    while deliverer.deliver_due():
        pass
    with store.session() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (
        DEAD,
        webhooks.MAX_ATTEMPTS,
        503,
    )
    assert "answered 503" in delivery.error


def test_bad_webhooks_are_refused(store: Store, classifier_id: int) -> None:
    with store.session() as session:
        with pytest.raises(InvalidRequest, match="not an http"):
            add_webhook(session, "ftp://example.com", SECRET)
        with pytest.raises(InvalidRequest, match="at least 16 characters"):
            add_webhook(session, "http://127.0.0.1:9/x", "short", destinations=LOOPBACK)
        with pytest.raises(InvalidRequest, match=r"unknown event type 'run\.exploded'"):
            add_webhook(session, "http://127.0.0.1:9/x", SECRET, None, ["run.exploded"], LOOPBACK)
