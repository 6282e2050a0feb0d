"""Fixtures of the browser scenarios: a real server over a copy of a prepared store, and
Chromium."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Templates
from tests.processes import environment, running_server
from tests.scenarios.browser import CHROMIUM, TEXTS, build_portal
from textloop.config import Settings
from textloop.security.api_keys import create_api_key
from textloop.store import Store


@pytest.fixture
def portal(
    tmp_path: Path, store: Store, settings: Settings, corpus_csv: Path, templates: Templates
) -> Iterator[tuple[str, str, Settings]]:
    """A server with a deployed ``topics`` classifier, four open tasks (one per text in
    ``TEXTS``, each sent to classify), a reviewer and an admin; yields the server's address,
    an admin API key, and the settings."""
    templates.apply(store, settings, corpus_csv, build_portal)
    with store.session() as session:
        admin_key = create_api_key(session, ["admin"]).key
    store.dispose()
    env = environment(settings.data_dir, settings.database_url)
    with running_server(env, tmp_path / "server.log") as base:
        for text in TEXTS:
            answer = httpx.post(
                f"{base}/v1/classifiers/topics/classify",
                json={"text": text},
                headers={"x-api-key": admin_key},
            )
            assert answer.status_code == 200 and answer.json()["review"] is True
        yield base, admin_key, settings


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()
