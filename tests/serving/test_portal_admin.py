"""Admin pages: only admins, CSRF on every form, and each form does what it says; every change
is confirmed on the page it leads back to, and disabling, removing or revoking asks first."""

import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from tests.serving.conftest import settle
from tests.serving.portal import PASSWORD, sign_in, token_in
from textloop.config import Settings
from textloop.notifications.destinations import Destinations
from textloop.notifications.events import emit
from textloop.notifications.webhooks import add_webhook
from textloop.pipeline.training import train_classifier
from textloop.registry.aliases import PRODUCTION
from textloop.review.assignments import NONE_FITS, SKIPPED, claim_next, decide
from textloop.serving.portal.admin_review import CONFLICTS_PER_PAGE, HISTORY_ROWS
from textloop.store import Store
from textloop.store.queries import aliased_model, get_classifier
from textloop.store.tables import (
    ApiKey,
    ReviewDecision,
    ReviewStatus,
    ReviewTask,
    User,
    utcnow,
)

ADMIN_PAGES = (
    "/admin/keys",
    "/admin/users",
    "/admin/classifiers",
    "/admin/conflicts",
    "/admin/history",
    "/admin/stats",
    "/admin/models",
    "/admin/events",
)


def test_reviewers_are_refused_every_admin_page(client: TestClient, people: Store) -> None:
    sign_in(client, "rita@example.com")
    for path in ADMIN_PAGES:
        response = client.get(path)
        assert response.status_code == 403 and "this page is for admins" in response.text


def test_admin_forms_need_the_csrf_token(client: TestClient, people: Store) -> None:
    sign_in(client, "admin@example.com")
    before = {path: client.get(path).status_code for path in ADMIN_PAGES}
    assert set(before.values()) == {200}
    for path, data in (
        ("/admin/keys", {"scope_classify": "1"}),
        ("/admin/users", {"email": "x@example.com", "password": PASSWORD}),
        ("/admin/classifiers/topics", {"review_overlap": "3"}),
        ("/admin/models/topics/rollback", {}),
    ):
        assert client.post(path, data=data).status_code == 403
    with people.session() as session:
        assert session.scalar(select(User).where(User.email == "x@example.com")) is None
        assert get_classifier(session, "topics").review_overlap == 1


def test_an_admin_adds_a_user_sets_overlap_and_revokes_a_key(
    client: TestClient, people: Store
) -> None:
    token = sign_in(client, "admin@example.com")
    client.post(
        "/admin/users",
        data={
            "email": "new@example.com",
            "password": PASSWORD,
            "role": "reviewer",
            "classifiers": "topics",
            "csrf_token": token,
        },
    )
    client.post("/admin/classifiers/topics", data={"review_overlap": "2", "csrf_token": token})
    created = client.post("/admin/keys", data={"scope_feedback": "1", "csrf_token": token})
    key = created.text.split('id="new-key">')[1].split("<")[0]
    with people.session() as session:
        user = session.scalar(select(User).where(User.email == "new@example.com"))
        assert user is not None and user.classifiers == ["topics"]
        assert get_classifier(session, "topics").review_overlap == 2
        record = session.scalar(select(ApiKey).where(ApiKey.prefix == key[:10]))
        assert record is not None and record.scopes == ["feedback"]
    client.post(f"/admin/keys/{record.id}/revoke", data={"csrf_token": token})
    refused = client.get("/v1/classifiers/topics/review/tasks", headers={"x-api-key": key})
    assert refused.status_code == 401


def test_an_admin_resolves_a_conflict_and_sees_the_history(
    client: TestClient, people: Store
) -> None:
    with people.session() as session:
        get_classifier(session, "topics").review_overlap = 2
        users = {u.email: u.id for u in session.scalars(select(User))}
        task = claim_next(session, "topics", users["rita@example.com"])
        assert claim_next(session, "topics", users["admin@example.com"]) is task
        decide(session, task.id, users["rita@example.com"], "sport")
        decide(session, task.id, users["admin@example.com"], "finance")
        task_id = task.id
    token = sign_in(client, "admin@example.com")
    conflicts = client.get("/admin/conflicts").text
    assert "rita@example.com: sport" in conflicts and "admin@example.com: finance" in conflicts
    client.post(f"/admin/conflicts/{task_id}", data={"label": "sport", "csrf_token": token})
    with people.session() as session:
        settled = session.get(ReviewTask, task_id)
        assert settled is not None and (settled.status, settled.final_label) == ("done", "sport")
    history = client.get("/admin/history").text
    assert history.count("rita@example.com") == 1 and "finance" in history
    assert token_in(history)


def test_an_admin_approves_a_blessed_candidate_rolls_back_and_sees_the_events(
    client: TestClient, people: Store, settings: Settings
) -> None:
    train_classifier(people, settings, "topics", "ngram", use_cache=False)  # version 2, blessed
    with people.session() as session:
        loopback = Destinations(["127.0.0.1"])  # allowed by name, as webhooks to it must be
        add_webhook(
            session, "http://127.0.0.1:9/hook", "a secret of sixteen+", "topics", None, loopback
        )
        session.commit()
    token = sign_in(client, "admin@example.com")
    page = client.get("/admin/models").text
    assert (
        'action="/admin/models/topics/2/deploy"' in page and "<strong>production</strong>" in page
    )
    deployed = client.post("/admin/models/topics/2/deploy", data={"csrf_token": token})
    assert deployed.status_code == 200 and "Roll back from version 2" in deployed.text
    client.post("/admin/models/topics/rollback", data={"csrf_token": token})
    with people.session() as session:
        production = aliased_model(session, get_classifier(session, "topics"), PRODUCTION)
        assert production.version == 1
    events = client.get("/admin/events").text
    assert "model.rolled_back" in events
    body = events.split("</title>", 1)[1]
    assert "http://127.0.0.1:9/hook" in body  # the webhook, and its deliveries waiting
    assert "<td>model.rolled_back #" in body and "<td>pending</td>" in body


def test_the_models_page_charts_review_share_and_reviewer_agreement_per_version(
    client: TestClient, people: Store, keys
) -> None:
    with people.session() as session:
        get_classifier(session, "topics").threshold = 1.1  # every prediction goes to review
        session.commit()
    settle(client)
    texts = ["the striker scored in the match", "rain and storm in the forecast"]
    answer = client.post(
        "/v1/classifiers/topics/classify", json={"texts": texts}, headers=keys.header(keys.classify)
    )
    predicted = [p["label"] for p in answer.json()["predictions"]]
    settle(client)
    with people.session() as session:
        rita = session.scalar(select(User.id).where(User.email == "rita@example.com"))
        session.execute(delete(ReviewTask).where(ReviewTask.prediction_id.is_(None)))
        disagree = "sport" if predicted[1] != "sport" else "finance"
        answers = {texts[0]: predicted[0], texts[1]: disagree}  # agrees once, disagrees once
        while (task := claim_next(session, "topics", rita)) is not None:
            decide(session, task.id, rita, answers[task.text])
        session.commit()

    sign_in(client, "admin@example.com")
    page = client.get("/admin/models").text
    assert '<svg class="chart"' in page and "reviewers agree" in page
    assert "100.0%" in page  # both predictions were sent to review
    assert "50.0% of 2" in page  # and the reviewers confirmed one of them
    assert "No drift report yet" in page


# --- Conflicts ----------------------------------------------------------------------------------


def disagree(people: Store, count: int = 3, rita: str | None = "sport") -> list[str]:
    """``count`` tasks (the fixture's three, then newer ones) on which rita says ``rita`` and the
    admin says finance, with two reviewers per task; their ids, oldest first."""
    with people.session() as session:
        topics = get_classifier(session, "topics")
        topics.review_overlap = 2
        for number in range(3, count):
            session.add(
                ReviewTask(
                    classifier_id=topics.id,
                    source="implicit",
                    text=f"the striker and the coach, part {number}",
                    suggested_label="sport",
                    confidence=0.45,
                    created_at=utcnow() + timedelta(seconds=number),
                )
            )
        session.flush()
        users = {u.email: u.id for u in session.scalars(select(User))}
        for email, label in (("rita@example.com", rita), ("admin@example.com", "finance")):
            while (task := claim_next(session, "topics", users[email])) is not None:
                decide(session, task.id, users[email], label)
        session.commit()
        return list(
            session.scalars(
                select(ReviewTask.id)
                .where(ReviewTask.status == ReviewStatus.CONFLICT)
                .order_by(ReviewTask.created_at, ReviewTask.id)
            )
        )


def row_of(page: str, row_id: str) -> str:
    """The table row ``<tr id="row_id">`` of a page."""
    return page.split(f'<tr id="{row_id}">', 1)[1].split("</tr>", 1)[0]


def confirmation(page: str) -> str | None:
    """The text of the page's confirmation box, if it has one."""
    match = re.search(r'<p class="confirmed" role="status" id="confirmed">(.*?)</p>', page, re.S)
    return match.group(1) if match else None


def test_an_admin_settles_a_conflict_with_a_label_no_reviewer_gave_and_says_why(
    client: TestClient, people: Store
) -> None:
    task_id = disagree(people)[0]
    token = sign_in(client, "admin@example.com")
    settled = client.post(
        f"/admin/conflicts/{task_id}",
        data={
            "other_label": "weather",  # typed in the "Any label" box
            "label": "",  # its "Settle with it" button
            "comment": "  it is about the forecast  ",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert settled.status_code == 303
    assert settled.headers["location"] == f"/admin/conflicts?page=1&settled={task_id}"
    with people.session() as session:
        task = session.get(ReviewTask, task_id)
        assert task is not None
        assert (task.status, task.final_label) == ("done", "weather")
        assert task.settle_comment == "it is about the forecast"
    page = client.get(settled.headers["location"]).text
    assert confirmation(page) == "Settled: weather · “the striker and the coach, part 0”"
    assert f'id="conflict-{task_id}"' not in page


def test_none_of_these_settles_a_conflict_with_no_label(client: TestClient, people: Store) -> None:
    task_id = disagree(people)[0]
    token = sign_in(client, "admin@example.com")
    page = client.post(
        f"/admin/conflicts/{task_id}",
        data={"action": "none", "comment": "a post about a chess club", "csrf_token": token},
    ).text
    with people.session() as session:
        task = session.get(ReviewTask, task_id)
        assert task is not None
        assert (task.status, task.final_label) == ("done", NONE_FITS)
        assert task.settle_comment == "a post about a chess club"
    assert (confirmation(page) or "").startswith("Settled: none of these")


def test_a_conflict_shows_the_models_suggestion_beside_the_votes_and_offers_every_label(
    client: TestClient, people: Store
) -> None:
    task_id = disagree(people, rita=NONE_FITS)[0]
    sign_in(client, "admin@example.com")
    page = client.get("/admin/conflicts").text
    row = row_of(page, f"conflict-{task_id}")
    assert "rita@example.com: <em>none of these</em>" in row  # a vote that counts, in words
    assert "admin@example.com: finance" in row
    assert '<li class="suggestion">model: sport <span class="meta">(0.45)</span></li>' in row
    # one button per label a reviewer gave, "None of these", and a box for any other label
    buttons = re.findall(r'<button type="submit" name="(\w+)" value="([^"]*)"', row)
    assert buttons == [("label", ""), ("label", "finance"), ("action", "none")]
    assert '<textarea id="comment-' in row and 'name="comment"' in row
    listed = re.search(r'list="(labels-\d+)"', row)
    assert listed is not None
    options = page.split(f'<datalist id="{listed.group(1)}">', 1)[1].split("</datalist>", 1)[0]
    assert re.findall(r'value="(\w+)"', options) == ["finance", "sport", "weather"]


def test_an_unknown_label_is_refused_and_changes_nothing(client: TestClient, people: Store) -> None:
    task_id = disagree(people)[0]
    token = sign_in(client, "admin@example.com")
    for form, message in (
        ({"label": "cricket"}, "&#x27;cricket&#x27; is not a label of &#x27;topics&#x27;"),
        ({"label": "", "other_label": " "}, "choose a label, or none of these"),
    ):
        refused = client.post(
            f"/admin/conflicts/{task_id}", data={**form, "comment": "oops", "csrf_token": token}
        )
        assert refused.status_code == 422 and message in refused.text
    with people.session() as session:
        task = session.get(ReviewTask, task_id)
        assert task is not None
        assert (task.status, task.final_label, task.settle_comment) == ("conflict", None, None)


def test_conflicts_come_twenty_a_page_oldest_first(client: TestClient, people: Store) -> None:
    ids = disagree(people, count=25)
    assert len(ids) == 25 and CONFLICTS_PER_PAGE == 20
    token = sign_in(client, "admin@example.com")

    first = client.get("/admin/conflicts").text
    assert "25 conflicts in all, oldest first · page 1 of 2" in first
    assert re.findall(r'<tr id="conflict-(\w+)">', first) == ids[:20]
    assert '<a href="/admin/conflicts?page=2" rel="next">Next 5</a>' in first
    assert 'rel="prev"' not in first

    second = client.get("/admin/conflicts?page=2").text
    assert re.findall(r'<tr id="conflict-(\w+)">', second) == ids[20:]
    assert '<a href="/admin/conflicts?page=1" rel="prev">Previous 20</a>' in second
    assert 'rel="next"' not in second

    # settling from page 2 leads back to page 2; past the last page is the last page
    client.post(f"/admin/conflicts/{ids[-1]}?page=2", data={"label": "sport", "csrf_token": token})
    beyond = client.get("/admin/conflicts?page=9").text
    assert re.findall(r'<tr id="conflict-(\w+)">', beyond) == ids[20:24]
    assert "24 conflicts in all" in beyond


# --- Classifiers --------------------------------------------------------------------------------


def test_guidelines_are_saved_shown_as_reviewers_see_them_and_cleared(
    client: TestClient, people: Store
) -> None:
    token = sign_in(client, "admin@example.com")
    guidelines = "**Sport** is any game.\n\n<script>alert(1)</script>"
    saved = client.post(
        "/admin/classifiers/topics",
        data={
            "threshold": "0.6",
            "review_overlap": "1",
            "guidelines": guidelines,
            "csrf_token": token,
        },
    )
    assert saved.url.path == "/admin/classifiers" and saved.url.query == b"saved=topics"
    assert confirmation(saved.text) == "Saved topics"
    with people.session() as session:
        assert get_classifier(session, "topics").guidelines == guidelines
    assert "<strong>Sport</strong> is any game." in saved.text  # the preview
    assert "<script>alert(1)</script>" not in saved.text  # escaped, in the box and the preview

    # a form without the field (an older page, a script) keeps them; an empty box clears them
    client.post("/admin/classifiers/topics", data={"review_overlap": "2", "csrf_token": token})
    with people.session() as session:
        assert get_classifier(session, "topics").guidelines == guidelines
    client.post("/admin/classifiers/topics", data={"guidelines": "  \n ", "csrf_token": token})
    with people.session() as session:
        assert get_classifier(session, "topics").guidelines is None


def test_a_confirmation_names_only_a_classifier_that_exists(
    client: TestClient, people: Store
) -> None:
    sign_in(client, "admin@example.com")
    assert confirmation(client.get("/admin/classifiers?saved=topics").text) == "Saved topics"
    assert confirmation(client.get("/admin/classifiers?saved=Your+account+is+locked").text) is None


# --- Confirmations and questions ------------------------------------------------------------------


def test_every_change_to_users_and_keys_is_confirmed_by_what_the_database_says(
    client: TestClient, people: Store
) -> None:
    token = sign_in(client, "admin@example.com")
    new = {"email": "new@example.com", "password": PASSWORD, "role": "reviewer"}
    added = client.post("/admin/users", data={**new, "csrf_token": token})
    assert confirmation(added.text) == "Added new@example.com (reviewer)"
    with people.session() as session:
        user_id = session.scalar(select(User.id).where(User.email == "new@example.com"))
    said = {
        action: confirmation(
            client.post(f"/admin/users/{user_id}/{action}", data={"csrf_token": token}).text
        )
        for action in ("disable", "enable", "remove")
    }
    assert said == {
        "disable": "Disabled new@example.com: signed out, and cannot sign in until enabled again",
        "enable": "Enabled new@example.com: can sign in again",
        "remove": "Removed new@example.com",  # read back from the audit log: the account is gone
    }
    created = client.post(
        "/admin/keys", data={"name": "the shop", "scope_classify": "1", "csrf_token": token}
    )
    prefix = created.text.split('id="new-key">')[1][:10]
    with people.session() as session:
        key_id = session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix))
    revoked = client.post(f"/admin/keys/{key_id}/revoke", data={"csrf_token": token})
    assert confirmation(revoked.text) == (
        f"Revoked key {prefix}… (the shop): requests with it are refused from now on"
    )

    # an address claiming a change that did not happen shows nothing
    with people.session() as session:
        rita = session.scalar(select(User.id).where(User.email == "rita@example.com"))
    for address in (
        f"/admin/users?did=disabled&user={rita}",  # rita is active
        f"/admin/users?did=removed&user={rita}",  # and still there
        "/admin/users?did=removed&user=999",  # nobody was removed under that id
        f"/admin/keys?revoked={key_id + 1}",
    ):
        assert confirmation(client.get(address).text) is None, address


def test_disabling_removing_and_revoking_ask_first_naming_what_they_act_on(
    client: TestClient, people: Store
) -> None:
    token = sign_in(client, "admin@example.com")
    client.post(
        "/admin/keys", data={"name": "the shop", "scope_classify": "1", "csrf_token": token}
    )
    with people.session() as session:
        rita = session.scalar(select(User).where(User.email == "rita@example.com"))
        key = session.scalar(select(ApiKey).where(ApiKey.name == "the shop"))
        assert rita is not None and key is not None
    users = client.get("/admin/users").text
    assert re.search(
        rf'action="/admin/users/{rita.id}/disable" [^>]*data-confirm="Disable rita@example.com\?',
        users,
    )
    assert re.search(
        rf'action="/admin/users/{rita.id}/remove" [^>]*data-confirm="Remove rita@example.com\?',
        users,
    )
    keys = client.get("/admin/keys").text
    assert re.search(
        rf'action="/admin/keys/{key.id}/revoke" [^>]*'
        rf'data-confirm="Revoke key {key.prefix}… \(the shop\)\?',
        keys,
    )
    client.post(f"/admin/users/{rita.id}/disable", data={"csrf_token": token})
    enable = client.get("/admin/users").text.split(f'action="/admin/users/{rita.id}/enable"')[1]
    assert "data-confirm" not in enable.split(">", 1)[0]  # enabling takes nothing away


# --- History --------------------------------------------------------------------------------------


def decide_each(people: Store, labels: list[str | None]) -> None:
    """Rita decides the fixture's tasks, oldest first, one label each (one reviewer a task)."""
    with people.session() as session:
        rita = session.scalar(select(User.id).where(User.email == "rita@example.com"))
        assert rita is not None
        for label in labels:
            task = claim_next(session, "topics", rita)
            assert task is not None
            decide(session, task.id, rita, label)
        session.commit()


def decisions_shown(page: str) -> list[str]:
    """The decision column of the history table, newest first."""
    table = page.split('<table class="queues" id="history">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>.*?</tr>", table, re.S)
    return [re.findall(r"<td>(.*?)</td>", row, re.S)[-1] for row in rows]


def test_the_history_filters_by_kind_of_decision_classifier_and_reviewer(
    client: TestClient, people: Store
) -> None:
    decide_each(people, ["sport", SKIPPED, NONE_FITS])
    sign_in(client, "admin@example.com")
    everything = client.get("/admin/history").text
    assert decisions_shown(everything) == ["<em>none of these</em>", "<em>skipped</em>", "sport"]
    for kind, shown in (
        ("label", ["sport"]),
        ("skip", ["<em>skipped</em>"]),
        ("none", ["<em>none of these</em>"]),
    ):
        page = client.get(f"/admin/history?decision={kind}").text
        assert decisions_shown(page) == shown, kind
        assert f'<option value="{kind}" selected>' in page  # the form keeps the filter
    assert (
        len(decisions_shown(client.get("/admin/history?reviewer=RITA&classifier=topics").text)) == 3
    )
    for unmatched in (
        "?classifier=other",
        "?reviewer=admin@",
        "?classifier=topics&decision=label&reviewer=otto",
    ):
        page = client.get(f"/admin/history{unmatched}").text
        assert '<td colspan="5" class="empty">No decisions match these filters.</td>' in page
    assert client.get("/admin/history?decision=maybe").status_code == 422


def test_the_history_pages_back_by_a_cursor_keeping_its_filters(
    client: TestClient, people: Store
) -> None:
    with people.session() as session:
        topics = get_classifier(session, "topics")
        rita = session.scalar(select(User.id).where(User.email == "rita@example.com"))
        for number in range(HISTORY_ROWS + 1):
            task = ReviewTask(classifier_id=topics.id, source="pool", text=f"text {number}")
            session.add(task)
            session.flush()
            session.add(ReviewDecision(task_id=task.id, user_id=rita, label="sport"))
        session.commit()
    sign_in(client, "admin@example.com")
    newest = client.get("/admin/history?decision=label").text
    assert len(decisions_shown(newest)) == HISTORY_ROWS and "text 0" not in newest
    older = re.search(r'<a href="([^"]+)" rel="next">Older decisions</a>', newest)
    assert older is not None and "decision=label" in older.group(1)
    oldest = client.get(older.group(1).replace("&amp;", "&")).text
    assert decisions_shown(oldest) == ["sport"] and "text 0" in oldest
    assert "Older decisions" not in oldest


# --- Every admin page -----------------------------------------------------------------------------


class Controls(HTMLParser):
    """A page's form controls, with what names them, and the element each form sits in."""

    CONTROLS = frozenset({"button", "input", "select", "textarea"})
    VOID = frozenset({"input", "br", "meta", "link", "img", "hr", "wbr", "col", "source"})

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.label_targets: set[str] = set()
        self.controls: list[dict[str, Any]] = []
        self.form_parents: list[str] = []
        self._button: dict[str, Any] | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.form_parents.append(self.open[-1])
        if tag == "label" and named.get("for"):
            self.label_targets.add(named["for"])
        if tag in self.CONTROLS and named.get("type") != "hidden":
            text = named.get("value", "") if named.get("type") in ("submit", "button") else ""
            control = {"tag": tag, "attrs": named, "in_label": "label" in self.open, "text": text}
            self.controls.append(control)
            self._button = control if tag == "button" else self._button
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._button = None
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button["text"] += data

    def unnamed(self) -> list[dict[str, Any]]:
        """Controls a screen reader could only call "button" or "edit text"."""
        return [
            c
            for c in self.controls
            if not (
                c["text"].strip()
                or c["attrs"].get("aria-label")
                or c["in_label"]
                or c["attrs"].get("id") in self.label_targets
            )
        ]


def test_every_admin_page_names_its_controls_and_keeps_forms_out_of_table_rows(
    client: TestClient, people: Store
) -> None:
    disagree(people)
    token = sign_in(client, "admin@example.com")
    client.post(
        "/admin/keys", data={"name": "the shop", "scope_classify": "1", "csrf_token": token}
    )
    for path in (*ADMIN_PAGES, "/admin/audit"):
        page = Controls(client.get(path).text)
        assert page.controls, path
        assert page.unnamed() == [], path
        assert not {"tr", "tbody", "thead", "table"} & set(page.form_parents), path


def test_empty_tables_say_what_is_missing(client: TestClient, people: Store) -> None:
    sign_in(client, "admin@example.com")
    said = {
        "/admin/conflicts": "No conflicts: reviewers agree on every task.",
        "/admin/history": "No review decisions yet.",
        "/admin/history?decision=skip": "No decisions match these filters.",
        "/admin/stats": "No reviewer has decided a task yet.",
        "/admin/audit?actor=nobody": "No entries match these filters.",
    }
    for path, words in said.items():
        page = client.get(path).text
        assert re.search(rf'<td colspan="\d+" class="empty">{re.escape(words)}</td>', page), path
    for path in (*ADMIN_PAGES, "/admin/audit"):
        page = client.get(path).text
        assert not re.search(r"<tbody>\s*</tbody>", page), f"{path} has an empty table"


def test_the_events_page_filters_by_classifier_and_event_type(
    client: TestClient, people: Store
) -> None:
    with people.session() as session:
        topics, other = (get_classifier(session, name).id for name in ("topics", "other"))
    emit(people, other, "drift.detected", window=1)
    emit(people, topics, "model.deployed", version=1)
    sign_in(client, "admin@example.com")

    def shown(address: str) -> list[tuple[str, str]]:
        page = client.get(address).text
        table = page.split('<table class="queues" id="events">', 1)[1].split("</table>", 1)[0]
        return re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td>", table)

    assert shown("/admin/events?classifier=other&type=") == [("other", "drift.detected")]
    deployed = shown("/admin/events?type=model.deployed")
    assert deployed and set(deployed) == {("topics", "model.deployed")}
    page = client.get("/admin/events?type=model.deployed").text
    assert "<option selected>model.deployed</option>" in page  # the form keeps the filter
    nothing = client.get("/admin/events?classifier=other&type=model.deployed").text
    assert '<td colspan="4" class="empty">No events match these filters.</td>' in nothing
    assert client.get("/admin/events?type=model.exploded").status_code == 422
    sign_in(client, "rita@example.com")
    assert client.get("/admin/events?classifier=secret").status_code == 403
