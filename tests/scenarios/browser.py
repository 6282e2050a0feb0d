"""The portal in real headless Chromium against a real server: the store the browser tests start
from, signing in, and reading back what was decided."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.serving.conftest import deploy_topics
from textloop.config import Settings
from textloop.security.accounts import create_user
from textloop.store import Store, open_store
from textloop.store.queries import get_classifier
from textloop.store.tables import ReviewDecision, ReviewTask, User

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"
TEXTS = ["the coach and the market", "rain at the stadium", "profit in the league", "loans"]
REVIEWER, ADMIN = "rita@example.com", "ada@example.com"

needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true",
    reason="Chromium is not installed (make test installs it)",
)


def build_portal(store: Store, settings: Settings, corpus_csv: Path) -> None:
    """A deployed ``topics`` classifier whose every answer goes to review, a reviewer and an
    admin: built once per test process and copied for each test (``Templates``)."""
    deploy_topics(store, settings, corpus_csv)
    with store.session() as session:
        create_user(session, REVIEWER, PASSWORD, "reviewer")
        create_user(session, ADMIN, PASSWORD, "admin")
        get_classifier(session, "topics").threshold = 1.0


def sign_in(page: object, base: str, email: str) -> None:
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.fill("input[name=email]", email)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{base}/")  # type: ignore[attr-defined]


def decisions_of(settings: Settings, email: str) -> list[tuple[str, str | None]]:
    """(task text, label) for each decision ``email`` made, oldest first."""
    store = open_store(settings)
    with store.session() as session:
        rows = session.execute(
            select(ReviewTask.text, ReviewDecision.label)
            .join(ReviewTask, ReviewTask.id == ReviewDecision.task_id)
            .join(User, User.id == ReviewDecision.user_id)
            .where(User.email == email)
            .order_by(ReviewDecision.id)
        ).all()
    store.dispose()
    return [(text, label) for text, label in rows]
