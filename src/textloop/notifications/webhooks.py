"""Webhooks: every event goes, signed, to the URLs that asked for it, retried until answered.

``emit`` creates one delivery per matching webhook in the event's own transaction, so no event
is acknowledged without its deliveries. The ``Deliverer`` POSTs the JSON body with
``X-Textloop-Signature: sha256=<HMAC-SHA256(secret, body)>``; a non-2xx answer or a network
error retries after 2 s, 4 s, 8 s, ... and after ``MAX_ATTEMPTS`` the delivery is dead. Each
webhook receives its events in order: only its oldest pending delivery is ever sent.

Where a webhook may point is ``notifications.destinations``' business: checked when it is added
and again before each attempt, which then connects to the checked address and follows no
redirect (``notifications.sending``). A disabled webhook gets no new deliveries, and the ones
already queued wait, in order, until it is enabled again; deleting one drops its deliveries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.orm import Session, aliased

from textloop.errors import InvalidRequest, NotFound
from textloop.notifications.destinations import Destinations
from textloop.notifications.events import check_event_types
from textloop.notifications.sending import post
from textloop.retry_log import RetryLog
from textloop.store.database import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import (
    Classifier,
    DeliveryStatus,
    SystemEvent,
    Webhook,
    WebhookDelivery,
    utcnow,
)

log = logging.getLogger("textloop.webhooks")
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=2)
IN_FLIGHT = timedelta(seconds=30)  # a claimed delivery is not claimed again for this long
TIMEOUT_SECONDS = 10.0
SIGNATURE_HEADER = "X-Textloop-Signature"


def add_webhook(
    session: Session,
    url: str,
    secret: str,
    classifier: str | None = None,
    event_types: list[str] | None = None,
    destinations: Destinations | None = None,
) -> Webhook:
    """Store a webhook after checking its URL against ``destinations`` (by default: public
    addresses only)."""
    (destinations or Destinations()).check(url)
    if len(secret) < 16:
        raise InvalidRequest("the secret must be at least 16 characters", field="secret")
    check_event_types(event_types, "events")
    classifier_id = get_classifier(session, classifier).id if classifier else None
    hook = Webhook(
        classifier_id=classifier_id, url=url, secret=secret, event_types=list(event_types or [])
    )
    session.add(hook)
    session.flush()
    return hook


def get_webhook(session: Session, webhook_id: int) -> Webhook:
    hook = session.get(Webhook, webhook_id)
    if hook is None:
        raise NotFound(f"webhook {webhook_id} does not exist")
    return hook


def webhook_classifier(session: Session, hook: Webhook) -> str | None:
    """The name of the classifier whose events the webhook gets; ``None``: every classifier's."""
    if hook.classifier_id is None:
        return None
    classifier = session.get(Classifier, hook.classifier_id)
    return classifier.name if classifier is not None else None


def set_active(session: Session, hook: Webhook, active: bool) -> None:
    """Disable (no new deliveries, queued ones wait) or enable again (they go, in order)."""
    hook.active = active
    session.flush()


def delete_webhook(session: Session, hook: Webhook) -> None:
    """Remove the webhook and every delivery of it, sent or not."""
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id))
    session.delete(hook)
    session.flush()


def fan_out(session: Session, event: SystemEvent) -> None:
    """Queue the event for every active webhook that wants it (called inside ``emit``)."""
    hooks = session.scalars(
        select(Webhook).where(
            Webhook.active.is_(True),
            or_(Webhook.classifier_id.is_(None), Webhook.classifier_id == event.classifier_id),
        )
    )
    for hook in hooks:
        if not hook.event_types or event.type in hook.event_types:
            session.add(WebhookDelivery(webhook_id=hook.id, event_id=event.id))


def delivery_log(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    rows = session.execute(
        select(WebhookDelivery, SystemEvent.type)
        .join(SystemEvent, SystemEvent.id == WebhookDelivery.event_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": delivery.id,
            "webhook": delivery.webhook_id,
            "event": delivery.event_id,
            "type": event_type,
            "status": delivery.status,
            "attempts": delivery.attempts,
            "response_status": delivery.response_status,
            "error": delivery.error,
            "delivered_at": delivery.delivered_at.isoformat() if delivery.delivered_at else None,
        }
        for delivery, event_type in rows
    ]


def body(session: Session, event: SystemEvent) -> bytes:
    classifier = session.get(Classifier, event.classifier_id) if event.classifier_id else None
    document = {
        "id": event.id,
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "classifier": classifier.name if classifier else None,
        "data": event.data,
    }
    return json.dumps(document, sort_keys=True, default=str).encode("utf-8")


def signature(secret: str, payload: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()


class Deliverer:
    """Sends due deliveries; any number may run against one database. ``destinations`` is the
    same policy webhooks were added under (``webhook_allowed_hosts``), checked again here."""

    def __init__(self, store: Store, destinations: Destinations | None = None) -> None:
        self.store = store
        self.destinations = destinations or Destinations()

    def deliver_due(self) -> int:
        """Send every delivery that is due now; returns how many were attempted."""
        attempted = 0
        while (claimed := self._claim()) is not None:
            delivery_id, url, secret, payload, event_type = claimed
            status, error = self._send(url, payload, signature(secret, payload), event_type)
            self._record(delivery_id, status, error)
            attempted += 1
        return attempted

    def run(self, stop: threading.Event, poll_seconds: float = 0.5) -> None:
        retries = RetryLog(log, "webhook delivery")
        while not stop.is_set():
            try:
                self.deliver_due()
            except Exception as exc:
                retries.failed(exc)
            else:
                retries.succeeded()
            stop.wait(poll_seconds)

    def _send(
        self, url: str, payload: bytes, signed: str, event_type: str
    ) -> tuple[int | None, str | None]:
        try:
            destination = self.destinations.check(url)
        except InvalidRequest as exc:  # refused, or a URL stored before the checks existed
            return None, f"refused: {exc.message}"
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "textloop-webhooks",
            "X-Textloop-Event": event_type,
            SIGNATURE_HEADER: signed,
        }
        try:
            return post(destination, payload, headers, TIMEOUT_SECONDS)
        except ValueError as exc:  # a URL http.client will not send: a failed attempt, recorded
            log.info("webhook to %s not sent: %r", destination.host, exc)
            return None, "the URL cannot be sent as it is; percent-encode it"

    def _claim(self) -> tuple[int, str, str, bytes, str] | None:
        now = utcnow()
        earlier = aliased(WebhookDelivery)
        blocked = exists().where(  # an older delivery to the same webhook still pending
            earlier.webhook_id == WebhookDelivery.webhook_id,
            earlier.status == DeliveryStatus.PENDING,
            earlier.event_id < WebhookDelivery.event_id,
        )
        active = select(Webhook.id).where(Webhook.active.is_(True))
        with self.store.session() as session:
            delivery = session.scalar(
                select(WebhookDelivery)
                .where(
                    and_(
                        WebhookDelivery.status == DeliveryStatus.PENDING,
                        WebhookDelivery.next_attempt_at <= now,
                        WebhookDelivery.webhook_id.in_(active),
                        ~blocked,
                    )
                )
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if delivery is None:
                return None
            delivery.attempts += 1
            delivery.next_attempt_at = now + IN_FLIGHT
            hook = session.get(Webhook, delivery.webhook_id)
            event = session.get(SystemEvent, delivery.event_id)
            assert hook is not None and event is not None
            return delivery.id, hook.url, hook.secret, body(session, event), event.type

    def _record(self, delivery_id: int, status: int | None, error: str | None) -> None:
        with self.store.session() as session:
            delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
            if delivery is None:
                return
            delivery.response_status, delivery.error = status, error
            if error is None:
                delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, utcnow()
            elif delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = DeliveryStatus.DEAD
            else:
                delivery.next_attempt_at = utcnow() + FIRST_RETRY * 2 ** (delivery.attempts - 1)
