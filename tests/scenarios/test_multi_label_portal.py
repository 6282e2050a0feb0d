"""The portal in Chromium for a multi-label classifier beside a single-label one: a reviewer
decides label sets with the keyboard alone, and the Models page judges each classifier by its own
headline (micro-F1 for label sets, accuracy for single labels)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Templates
from tests.multi_label import deploy_both
from tests.processes import environment, running_server
from tests.scenarios.browser import (
    ADMIN,
    PASSWORD,
    REVIEWER,
    decisions_of,
    needs_chromium,
    sign_in,
)
from textloop.config import Settings
from textloop.pipeline.evaluation_tables import evaluation_tables
from textloop.security.accounts import create_user
from textloop.security.api_keys import create_api_key
from textloop.store import Store
from textloop.store.queries import get_classifier, get_model_version

pytestmark = needs_chromium
TEXTS = ["the striker and the bank", "rain at last", "the weekend and the neighbour today"]


@pytest.fixture
def server(
    tmp_path: Path, store: Store, settings: Settings, corpus_csv: Path, templates: Templates
) -> Iterator[str]:
    templates.apply(store, settings, corpus_csv, deploy_both)
    with store.session() as session:
        create_user(session, ADMIN, PASSWORD, "admin")
        create_user(session, REVIEWER, PASSWORD, "reviewer")
        get_classifier(session, "tags").threshold = 1.1  # every answer goes to review
        key = create_api_key(session, ["classify"]).key
    store.dispose()
    with running_server(environment(settings.data_dir, settings.database_url),
                        tmp_path / "server.log") as base:  # fmt: skip
        for text in TEXTS:
            answer = httpx.post(
                f"{base}/v1/classifiers/tags/classify",
                json={"text": text},
                headers={"x-api-key": key},
            )
            assert answer.status_code == 200 and answer.json()["review"] is True
        yield base


def test_a_reviewer_decides_label_sets_with_the_keyboard_alone(
    server: str, browser: object, settings: Settings
) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    sign_in(page, server, REVIEWER)
    page.goto(f"{server}/queues/tags/next")
    boxes = page.locator("input[type=checkbox][data-key]")
    first = boxes.nth(0)
    first_label = first.get_attribute("name").removeprefix("with:")
    for n in range(boxes.count()):  # to a state of our own: only the first label ticked
        if boxes.nth(n).is_checked() != (n == 0):
            page.keyboard.press(str(n + 1))
    assert first.is_checked() and boxes.nth(1).is_checked() is False
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#saved").inner_text().startswith(f"Saved: {first_label}")
    with page.expect_navigation():
        page.keyboard.press("n")  # no label applies
    assert "Saved: none of these" in page.locator("#saved").inner_text()
    with page.expect_navigation():
        page.keyboard.press("s")
    page.close()
    decided = [label for _, label in decisions_of(settings, REVIEWER)]
    assert decided == [first_label, None, ""]  # a set of one, the empty set, a skip


def test_the_models_page_judges_each_classifier_by_its_own_headline(
    server: str, browser: object, store: Store
) -> None:
    with store.session() as session:
        tags = get_model_version(session, get_classifier(session, "tags"), 1)
        micro_f1 = tags.metrics["test"]["micro_f1"]
        slices = evaluation_tables(tags.metrics)["slices"]
    page = browser.new_page()  # type: ignore[attr-defined]
    sign_in(page, server, ADMIN)
    page.goto(f"{server}/admin/models")
    headers = page.locator("table.queues thead tr").all_inner_texts()
    assert any("test micro-F1" in row for row in headers)
    assert any("test accuracy" in row for row in headers)
    versions = page.locator('table.queues:has(th:has-text("test micro-F1"))')
    assert versions.count() == 1  # the multi-label classifier's, and only it
    first_row = versions.locator("tbody tr").first.locator("td")
    assert first_row.nth(2).inner_text() == f"{micro_f1:.4f}"
    page.get_by_text("Version 1:").first.click()  # the evaluation tables open
    slice_header = page.locator("table.per-slice thead").first.inner_text()
    assert "micro-F1" in slice_header and "subset accuracy" in slice_header
    assert len(slices) >= 1
    page.close()
