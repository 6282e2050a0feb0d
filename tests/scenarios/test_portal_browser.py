"""The portal in real headless Chromium against a real server: a reviewer works by keyboard,
and an admin creates an API key that is shown exactly once."""

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.processes import environment, run_cli, running_server
from tests.scenarios.browser import ADMIN, REVIEWER, TEXTS, needs_chromium, sign_in
from textloop.artifacts import artifacts_for
from textloop.store import open_store
from textloop.store.tables import ReviewDecision, ReviewTask, User

pytestmark = needs_chromium


def test_a_reviewer_labels_by_keyboard_and_by_search(portal, browser) -> None:
    base, _, settings = portal
    page = browser.new_page()
    sign_in(page, base, REVIEWER)
    page.click("a[href='/queues/topics/next']")
    seen = []
    for key in ("Enter", "2", "Enter"):  # approve, second suggestion, approve
        page.wait_for_selector("#task-text")
        seen.append(page.inner_text("#task-text"))
        suggestion = page.inner_text("button[data-key='2']") if key == "2" else None
        with page.expect_navigation():
            page.keyboard.press(key)
        if suggestion is not None:
            second_label = suggestion.split()[1]
    seen.append(page.inner_text("#task-text"))
    page.keyboard.press("/")
    page.keyboard.type("finance")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.is_visible("#empty")
    assert sorted(seen) == sorted(TEXTS)

    store = open_store(settings)
    with store.session() as session:
        decided = session.execute(
            select(ReviewTask.text, ReviewDecision.label, ReviewTask.status)
            .join(ReviewTask, ReviewTask.id == ReviewDecision.task_id)
            .join(User, User.id == ReviewDecision.user_id)
            .where(User.email == REVIEWER)
            .order_by(ReviewDecision.id)
        ).all()
        suggested = {
            task.text: task.suggested_label for task in session.scalars(select(ReviewTask))
        }
    store.dispose()
    assert [text for text, _, _ in decided] == seen
    labels = [label for _, label, _ in decided]
    assert labels == [suggested[seen[0]], second_label, suggested[seen[2]], "finance"]
    assert {status for _, _, status in decided} == {"done"}


def test_enter_presses_what_has_focus_and_approves_only_when_nothing_has(portal, browser) -> None:
    """Tab to the third label or to Skip and press Enter: that label is saved, or the task is
    skipped; the suggestion is approved only when focus is on no control."""
    base, _, settings = portal
    page = browser.new_page()
    sign_in(page, base, REVIEWER)
    page.click("a[href='/queues/topics/next']")
    page.wait_for_selector("#task-text")
    chosen_text = page.inner_text("#task-text")
    third = page.get_attribute("button[data-key='3']", "value")
    page.focus("button[data-key='3']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    skipped_text = page.inner_text("#task-text")
    page.focus("#skip")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.inner_text("#task-text") != skipped_text

    store = open_store(settings)
    with store.session() as session:
        decided = dict(
            session.execute(
                select(ReviewTask.text, ReviewDecision.label).join(
                    ReviewTask, ReviewTask.id == ReviewDecision.task_id
                )
            ).all()
        )
    store.dispose()
    assert decided == {chosen_text: third, skipped_text: ""}  # "": a skip, not the suggestion


def test_a_decided_task_reached_by_back_or_by_its_address_is_shown_as_decided(
    portal, browser
) -> None:
    """Never as a live form: Back after a decision, or another reviewer's task opened by its
    address, says whose it is, keeps the header, and a key pressed there records nothing."""
    base, _, settings = portal
    page = browser.new_page()
    sign_in(page, base, REVIEWER)
    page.click("a[href='/queues/topics/next']")
    page.wait_for_selector("#task-text")
    decided_url = page.url
    label = page.get_attribute("button[data-key='2']", "value")
    with page.expect_navigation():
        page.keyboard.press("2")
    held_url = page.url  # the next task, now held by Rita
    page.go_back()
    page.wait_for_selector("#gone")
    assert page.url == decided_url
    assert f"You decided this task: {label}." in page.inner_text("#gone")
    assert page.is_visible("header form[action='/logout'] button")
    page.keyboard.press("1")
    assert page.is_visible("#gone")  # no form, so no key decides anything

    other = browser.new_page()
    sign_in(other, base, ADMIN)
    answer = other.goto(held_url)  # Rita's task, by its address
    assert answer is not None and answer.status == 409
    assert "not yours to decide now" in other.inner_text("#gone")
    assert not other.is_visible("#decision")

    store = open_store(settings)
    with store.session() as session:
        decisions = session.execute(select(ReviewDecision.label)).scalars().all()
    store.dispose()
    assert decisions == [label]


PAGES = ["/", "/queues/topics/next", "/admin/keys", "/admin/users", "/admin/classifiers",
         "/admin/conflicts", "/admin/stats", "/admin/history", "/admin/models", "/admin/events",
         "/admin/audit", "/admin/discover"]  # fmt: skip


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844)])
def test_no_page_is_wider_than_the_screen_and_sign_out_stays_on_it(
    portal, browser, width: int, height: int
) -> None:
    base, _, _ = portal
    page = browser.new_page(viewport={"width": width, "height": height})
    sign_in(page, base, ADMIN)
    for path in PAGES:
        page.goto(f"{base}{path}")
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{path} is {wide} px wide at {width}"
        box = page.locator("header form[action='/logout'] button").bounding_box()
        assert box is not None and box["x"] + box["width"] <= width, f"{path}: Sign out off-screen"


def test_an_admin_creates_an_api_key_and_sees_it_once(portal, browser) -> None:
    base, _, _ = portal
    page = browser.new_page()
    sign_in(page, base, ADMIN)
    page.goto(f"{base}/admin/keys")
    page.fill("input[name=name]", "the shop")
    with page.expect_navigation():
        page.click("#create-key button[type=submit]")
    key = page.inner_text("#new-key")
    assert key.startswith("tl_")
    answer = httpx.post(
        f"{base}/v1/classifiers/topics/classify", json={"text": "goal"}, headers={"x-api-key": key}
    )
    assert answer.status_code == 200
    page.goto(f"{base}/admin/keys")
    assert not page.is_visible("#new-key") and key not in page.content()
    assert "the shop" in page.content()


def test_a_reviewer_cannot_open_admin_pages(portal, browser) -> None:
    base, _, _ = portal
    page = browser.new_page()
    sign_in(page, base, REVIEWER)
    response = page.goto(f"{base}/admin/keys")
    assert response.status == 403 and "this page is for admins" in page.content()


def test_the_api_reference_renders_with_no_network(tmp_path: Path, browser) -> None:
    env = environment(tmp_path / "data", f"sqlite:///{tmp_path / 'textloop.db'}")
    assert run_cli(env, "init").returncode == 0
    with running_server(env, tmp_path / "server.log") as base:
        page = browser.new_page()
        outside: list[str] = []

        def only_this_server(route: object) -> None:
            url = route.request.url  # type: ignore[attr-defined]
            if url.startswith(base):
                route.continue_()  # type: ignore[attr-defined]
            else:
                outside.append(url)
                route.abort()  # type: ignore[attr-defined]

        page.route("**/*", only_this_server)
        answer = page.goto(f"{base}/docs")
        assert answer.status == 200
        page.wait_for_load_state("networkidle")
        assert outside == []
        heading = page.locator("#post--v1-classifiers-name-classify h3")
        assert heading.inner_text() == "POST /v1/classifiers/{name}/classify"
        assert page.locator("section.schema").count() > 10
        # the portal's own stylesheet applied: the page is not a bare document
        assert page.eval_on_selector("header", "e => getComputedStyle(e).display") == "flex"


def test_explicit_feedback_is_never_confirmed_by_enter_and_the_url_follows_the_task(
    portal, browser
) -> None:
    from textloop.models.base import ModelResources
    from textloop.predict.model_cache import ModelCache
    from textloop.review.feedback import record_feedback
    from textloop.store.tables import Prediction

    base, _, settings = portal
    store = open_store(settings)
    with store.session() as session:
        disputed = session.scalars(select(Prediction).order_by(Prediction.created_at)).first()
        assert disputed is not None
        reported = next(label for label in ("sport", "finance") if label != disputed.label)
        disputed_id, model_label = disputed.id, disputed.label
    cache = ModelCache(artifacts_for(settings), ModelResources())
    explicit = record_feedback(store, cache, "topics", prediction_id=disputed_id, label=reported)
    text_only = record_feedback(store, cache, "topics", text="a storm over the bank")

    page = browser.new_page()
    sign_in(page, base, REVIEWER)
    page.click("a[href='/queues/topics/next']")
    visited = []
    for _ in TEXTS:  # the implicit tasks: Enter approves, and the address names each task
        page.wait_for_selector("#task-text")
        visited.append(page.url.split("?")[0].rsplit("/tasks/", 1)[1])
        with page.expect_navigation():
            page.keyboard.press("Enter")
    assert len(set(visited)) == len(TEXTS)

    page.wait_for_selector("#disputed")
    assert page.url.split("?")[0] == f"{base}/tasks/{explicit.review_task_id}"
    first = page.inner_text("button[data-key='1']")
    assert reported in first and "the user's label" in first
    assert page.locator("#approve").count() == 0
    assert "disputed" in page.inner_text("#decision")
    page.keyboard.press("Enter")  # confirms nothing: the notice is flashed instead
    page.wait_for_selector("#disputed.flash")
    assert page.url.split("?")[0] == f"{base}/tasks/{explicit.review_task_id}"
    with page.expect_navigation():
        page.keyboard.press("2")  # a deliberate choice: the model's label, marked disputed

    page.wait_for_selector("#task-text")
    assert page.url.split("?")[0] == f"{base}/tasks/{text_only.review_task_id}"
    assert page.locator("button[data-key]").count() == 3  # every label, not only the suggestion
    with page.expect_navigation():
        page.keyboard.press("3")
    assert page.is_visible("#empty")

    with store.session() as session:
        decisions = dict(
            session.execute(select(ReviewDecision.task_id, ReviewDecision.label)).all()
        )
    store.dispose()
    assert decisions[explicit.review_task_id] == model_label
