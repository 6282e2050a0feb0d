"""A reviewer works only with the keyboard, and the portal's pages are photographed for the docs.

The keyboard walk decides 20 tasks with every way a key decides (Enter on the suggestion, a
number, Tab to a label and Enter, the label filter, "none of these", skip, undo and decide
again) and checks each stored decision against the key pressed. The screenshots are written to
``docs/portal/`` at 1280 and 390 px wide, light and dark, so the docs show the portal as it is.
"""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from tests.scenarios.browser import ADMIN, REVIEWER, decisions_of, needs_chromium, sign_in
from textloop.config import Settings
from textloop.store import open_store
from textloop.store.queries import get_classifier
from textloop.store.tables import ReviewDecision, ReviewStatus, ReviewTask, User

pytestmark = needs_chromium

TASKS = 20
EXTRA = [f"a message about the day, number {n}" for n in range(TASKS - 4)]
# What the reviewer presses on each task, in turn.
WALK = ["Enter", "2", "tab:3", "filter:wthr", "n", "s", "undo:1:3", "1", "filter:fnce", "3"]
SHOTS = Path(__file__).parents[2] / "docs" / "portal"
GUIDELINES = """Pick the **topic** of the text.

- *sport*: games, players, clubs and their matches
- *finance*: money, markets, banks and loans
- *weather*: rain, sun, storms and forecasts

Choose **none of these** when the text is about none of them."""


def add_tasks(settings: Settings, texts: list[str]) -> None:
    """Open tasks the model was unsure of, with its scores, as a busy day leaves them."""
    store = open_store(settings)
    with store.session() as session:
        classifier = get_classifier(session, "topics")
        for text in texts:
            session.add(
                ReviewTask(
                    classifier_id=classifier.id,
                    source="implicit",
                    text=text,
                    suggested_label="sport",
                    confidence=0.41,
                    scores={"sport": 0.41, "finance": 0.35, "weather": 0.24},
                )
            )
            session.flush()
    store.dispose()


def choice(page: object, key: str) -> str:
    value = page.get_attribute(f"button[data-key='{key}']", "value")  # type: ignore[attr-defined]
    assert value
    return value


def press_and_wait(page: object, key: str) -> None:
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.keyboard.press(key)  # type: ignore[attr-defined]


def tab_to(page: object, selector: str) -> None:
    """Press Tab until ``selector`` has focus, as a keyboard user would."""
    for _ in range(40):
        page.keyboard.press("Tab")  # type: ignore[attr-defined]
        if page.evaluate(f"document.activeElement.matches({selector!r})"):  # type: ignore[attr-defined]
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_a_keyboard_only_reviewer_decides_20_tasks_and_every_decision_is_the_key_pressed(
    portal, browser
) -> None:
    base, _, settings = portal
    add_tasks(settings, EXTRA)
    page = browser.new_page()
    sign_in(page, base, REVIEWER)
    tab_to(page, "a[href='/queues/topics/next']")
    press_and_wait(page, "Enter")
    expected: dict[str, str | None] = {}
    said = {None: "none of these", "": "skipped"}
    for number in range(TASKS):
        page.wait_for_selector("#task-text")
        text = page.inner_text("#task-text")
        assert text not in expected, "a decided or skipped task came back"
        action = WALK[number % len(WALK)]
        if action == "Enter":
            label = page.get_attribute("#approve", "value")
            press_and_wait(page, "Enter")
        elif action.startswith("tab:"):
            label = choice(page, action[4:])
            tab_to(page, f"button[data-key='{action[4:]}']")
            press_and_wait(page, "Enter")
        elif action.startswith("filter:"):
            page.keyboard.press("/")
            page.keyboard.type(action[7:])  # letters in order, not a substring: fuzzy
            label = page.get_attribute("#label-options [aria-selected=true]", "data-label")
            assert label == {"wthr": "weather", "fnce": "finance"}[action[7:]]
            press_and_wait(page, "Enter")
        elif action == "n":
            label = None
            press_and_wait(page, "n")
        elif action == "s":
            label = ""
            press_and_wait(page, "s")
        elif action.startswith("undo:"):
            _, first, second = action.split(":")
            decided_url = page.url.split("?")[0]
            undone = choice(page, first)
            press_and_wait(page, first)
            assert f"Saved: {undone}" in page.inner_text("#saved")
            press_and_wait(page, "u")  # back to the task just decided, to decide again
            assert page.url == decided_url and page.inner_text("#task-text") == text
            label = choice(page, second)
            press_and_wait(page, second)
        else:
            label = choice(page, action)
            press_and_wait(page, action)
        expected[text] = label
        saved = page.inner_text("#saved")
        assert f"Saved: {said.get(label, label)}" in saved, (action, saved)
    page.wait_for_selector("#empty")
    decided = decisions_of(settings, REVIEWER)
    assert len(decided) == TASKS  # the undone decision is gone, not kept beside the new one
    assert dict(decided) == expected


def test_a_label_is_found_by_part_of_its_name_and_a_miss_saves_nothing(portal, browser) -> None:
    base, _, settings = portal
    page = browser.new_page()
    sign_in(page, base, REVIEWER)
    page.goto(f"{base}/queues/topics/next")
    page.keyboard.press("/")
    page.keyboard.type("xyz")
    assert page.is_hidden("#label-options")
    page.keyboard.press("Enter")  # nothing matches: nothing is saved, the box says so
    page.wait_for_selector("#label-search.flash")
    page.fill("#label-search", "")
    page.keyboard.type("e")  # in weather and finance; the earlier match comes first
    options = page.locator("#label-options [role=option]:not([hidden])")
    assert [options.nth(i).get_attribute("data-label") for i in range(2)] == [
        "weather",
        "finance",
    ]
    page.keyboard.press("ArrowDown")
    assert page.get_attribute("#label-options [aria-selected=true]", "data-label") == "finance"
    press_and_wait(page, "Enter")
    assert [label for _, label in decisions_of(settings, REVIEWER)] == ["finance"]


def make_a_conflict(settings: Settings) -> None:
    """Two reviewers told one text apart, and guidelines to show beside every task."""
    store = open_store(settings)
    with store.session() as session:
        classifier = get_classifier(session, "topics")
        classifier.guidelines = GUIDELINES
        task = ReviewTask(
            classifier_id=classifier.id,
            source="implicit",
            text="the club's shares fell after the match was rained off",
            suggested_label="finance",
            confidence=0.38,
            scores={"finance": 0.38, "sport": 0.34, "weather": 0.28},
            status=ReviewStatus.CONFLICT,
        )
        session.add(task)
        session.flush()
        for email, label in ((REVIEWER, "sport"), (ADMIN, None)):
            user = session.scalar(select(User).where(User.email == email))
            assert user is not None
            session.add(ReviewDecision(task_id=task.id, user_id=user.id, label=label))
    store.dispose()


def changed(target: Path, shot: bytes) -> bool:
    """Whether the page looks different from the picture in the docs: a clock or a date that
    moved (a few hundred pixels) is not a change worth a new file in every checkout."""
    if not target.exists():
        return True
    before = Image.open(target).convert("RGB")
    after = Image.open(io.BytesIO(shot)).convert("RGB")
    if before.size != after.size:
        return True
    difference = np.abs(np.asarray(before, dtype=int) - np.asarray(after, dtype=int)).max(axis=2)
    return float((difference > 32).mean()) > 0.01


PHOTOGRAPHED = {  # page name: (who, address)
    "task": (REVIEWER, "/queues/topics/next"),
    "queues": (REVIEWER, "/"),
    "conflicts": (ADMIN, "/admin/conflicts"),
    "models": (ADMIN, "/admin/models"),
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_docs_show_the_portal_as_it_is(portal, browser, scheme: str) -> None:
    base, _, settings = portal
    make_a_conflict(settings)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 800), (390, 844)):
        signed_in = {
            email: browser.new_page(
                viewport={"width": width, "height": height}, color_scheme=scheme
            )
            for email in (REVIEWER, ADMIN)
        }
        for email, page in signed_in.items():
            sign_in(page, base, email)
        for name, (email, path) in PHOTOGRAPHED.items():
            page = signed_in[email]
            page.goto(f"{base}{path}")
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert (background == "rgb(13, 17, 23)") == (scheme == "dark"), background
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, f"{name} is {wide} px wide at {width}"
            shot = page.screenshot(type="jpeg", quality=80, full_page=width < 1000)
            target = SHOTS / f"{name}-{width}-{scheme}.jpg"
            if changed(target, shot):
                target.write_bytes(shot)
        for page in signed_in.values():
            page.close()
