"""A new label, proposed and approved in real headless Chromium against a real server: a reviewer
types a name on an out-of-scope task by keyboard (no letter or digit typed there decides
anything), an admin approves it on the "Proposed labels" page, the task now trains on it, and
the next task page offers it; both pages fit a phone's width."""

from __future__ import annotations

from sqlalchemy import select

from tests.scenarios.browser import ADMIN, REVIEWER, needs_chromium, sign_in
from textloop.config import Settings
from textloop.review.tasks import unmerged_reviewed
from textloop.store import open_store
from textloop.store.queries import get_classifier
from textloop.store.tables import LabelProposal, ReviewDecision, ReviewTask, TaskSource

pytestmark = needs_chromium

NEW_LABEL = "invoices 2 sn"  # a digit, "s" and "n": keys that decide a task outside the box


def first_task_out_of_scope(settings: Settings) -> str:
    """The oldest open task, as the model opens it for a text that fits none of its labels;
    returns its text."""
    store = open_store(settings)
    with store.session() as session:
        task = session.scalars(
            select(ReviewTask).order_by(ReviewTask.created_at, ReviewTask.id)
        ).first()
        assert task is not None
        task.source = TaskSource.OUT_OF_SCOPE
        text = task.text
    store.dispose()
    return text


def test_a_reviewer_proposes_a_label_an_admin_approves_it_and_the_task_trains_on_it(
    portal, browser
) -> None:
    base, _, settings = portal
    text = first_task_out_of_scope(settings)
    page = browser.new_page()
    sign_in(page, base, REVIEWER)
    page.click("a[href='/queues/topics/next']")
    page.wait_for_selector("#disputed")  # the out-of-scope notice
    assert page.inner_text("#task-text") == text
    task_url = page.url
    page.keyboard.press("p")  # to the box, typing nothing into it
    assert page.evaluate("document.activeElement.id") == "proposed-label"
    assert page.input_value("#proposed-label") == ""
    page.keyboard.type(NEW_LABEL)
    assert page.url == task_url and page.input_value("#proposed-label") == NEW_LABEL
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("#task-text")
    assert page.inner_text("#task-text") != text
    assert f"Saved: none of these, proposing “{NEW_LABEL}”" in page.inner_text("#saved")
    assert NEW_LABEL not in page.inner_text("#decision")  # not a label yet

    admin = browser.new_page()
    sign_in(admin, base, ADMIN)
    admin.goto(f"{base}/admin/keys")
    with admin.expect_navigation():
        admin.click("nav.admin a:text('Proposed labels')")
    section = admin.locator("section.proposal", has_text=NEW_LABEL)
    assert text in section.inner_text() and REVIEWER in section.inner_text()
    admin.once("dialog", lambda dialog: dialog.accept())  # "a label cannot be removed"
    with admin.expect_navigation():
        section.get_by_role("button", name=f"Approve {NEW_LABEL} for topics").click()
    assert f"Approved “{NEW_LABEL}”: a label of topics now" in admin.inner_text("#confirmed")
    assert admin.is_visible("#no-proposals")

    store = open_store(settings)
    with store.session() as session:
        classifier = get_classifier(session, "topics")
        assert NEW_LABEL in classifier.labels
        training = {
            task.text: task.final_label for task in session.scalars(unmerged_reviewed(classifier))
        }
        decision = session.scalar(
            select(ReviewDecision.label)
            .join(ReviewTask, ReviewTask.id == ReviewDecision.task_id)
            .where(ReviewTask.text == text)
        )
        proposal = session.scalars(select(LabelProposal)).one()
    store.dispose()
    assert training == {text: NEW_LABEL}  # it trains on the new label at the next merge
    assert decision is None  # the reviewer's own decision stays "none of these"
    assert (proposal.status, proposal.decided_by is not None) == ("approved", True)

    page.reload()  # the reviewer's next task now offers the new label under a number key
    offered = page.locator("button[data-key]", has_text=NEW_LABEL)
    assert offered.count() == 1
    with page.expect_navigation():
        page.keyboard.press(offered.get_attribute("data-key"))
    store = open_store(settings)
    with store.session() as session:
        chosen = session.scalars(
            select(ReviewDecision.label).order_by(ReviewDecision.id.desc())
        ).first()
    store.dispose()
    assert chosen == NEW_LABEL


def test_proposing_and_the_proposed_labels_page_fit_a_phone(portal, browser) -> None:
    base, _, settings = portal
    first_task_out_of_scope(settings)
    width = 390
    page = browser.new_page(viewport={"width": width, "height": 844})
    sign_in(page, base, REVIEWER)
    page.goto(f"{base}/queues/topics/next")
    box = page.locator("#propose-submit").bounding_box()
    assert box is not None and box["x"] + box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.fill("#proposed-label", "a rather long proposed label name for texts about invoices")
    with page.expect_navigation():
        page.click("#propose-submit")  # by mouse, this time

    admin = browser.new_page(viewport={"width": width, "height": 844})
    sign_in(admin, base, ADMIN)
    admin.goto(f"{base}/admin/proposals")
    assert admin.locator("section.proposal").count() == 1
    assert admin.evaluate("document.documentElement.scrollWidth") <= width
    reject = admin.get_by_role("button", name="Reject a rather long proposed label")
    box = reject.bounding_box()
    assert box is not None and box["x"] + box["width"] <= width
    with admin.expect_navigation():
        reject.click()
    assert "its tasks stay none of these" in admin.inner_text("#confirmed")
