"""The "Discover labels" page in real headless Chromium against a real server: clusters of texts
the model doubted, readable on a phone, and one of them added as a label from its form."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from tests.review.discovered import COOKING, TRAVEL
from tests.scenarios.browser import ADMIN, needs_chromium, sign_in
from textloop.store import open_store
from textloop.store.queries import get_classifier
from textloop.store.tables import ReviewTask

pytestmark = needs_chromium


def test_an_admin_on_a_phone_adds_a_cluster_as_a_label(portal, browser) -> None:
    base, admin_key, settings = portal
    for text in [*COOKING, *TRAVEL]:  # every answer is doubted: the threshold is 1
        answered = httpx.post(
            f"{base}/v1/classifiers/topics/classify",
            json={"text": text},
            headers={"x-api-key": admin_key},
        )
        assert answered.status_code == 200
    page = browser.new_page(viewport={"width": 390, "height": 844})
    sign_in(page, base, ADMIN)
    page.goto(f"{base}/admin/keys")
    page.click("nav.admin a[href='/admin/discover']")
    page.wait_for_selector("section.cluster")  # one classifier: it is chosen at once
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390, f"the page is {wide} px wide"
    cluster = next(
        section
        for section in page.locator("section.cluster").all()
        if any(text in section.inner_text() for text in COOKING)
    )
    shown = cluster.locator("ul.samples").first.locator("li")  # the texts nearest its centre
    texts = [item.inner_text() for item in shown.all()]
    cluster.locator("input[name=label]").fill("baking")
    page.once("dialog", lambda dialog: dialog.accept())  # "A label cannot be removed."
    with page.expect_navigation():
        cluster.locator("button[type=submit]").click()
    assert page.inner_text("#confirmed").startswith("Added “baking” to topics:")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    store = open_store(settings)
    with store.session() as session:
        assert "baking" in get_classifier(session, "topics").labels
        suggested = dict(session.execute(select(ReviewTask.text, ReviewTask.suggested_label)).all())
    store.dispose()
    assert texts and all(suggested[text] == "baking" for text in texts)
