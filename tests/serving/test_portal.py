"""The review portal: sign-in, CSRF on every form, roles, and deciding tasks."""

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.serving.portal import PASSWORD, sign_in, token_in
from textloop.store import Store
from textloop.store.tables import ReviewDecision, ReviewTask


def test_pages_need_a_signed_in_person(client: TestClient, people: Store) -> None:
    for path in ("/", "/queues/topics/next", "/tasks/anything"):
        response = client.get(path, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/login")


def test_a_wrong_password_signs_nobody_in(client: TestClient, people: Store) -> None:
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"email": "rita@example.com", "password": "wrong", "csrf_token": token_in(form.text)},
    )
    assert response.status_code == 200 and "wrong email or password" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_reviewer_decides_tasks_and_the_decisions_are_stored(
    client: TestClient, people: Store
) -> None:
    sign_in(client, "rita@example.com")
    queues = client.get("/").text
    assert "topics" in queues and 'href="/queues/topics/next"' in queues
    page = client.get("/queues/topics/next")
    assert "the striker and the coach, part 0" in page.text
    assert "<kbd>1</kbd> sport" in page.text and "Keys:" in page.text
    task_id = str(page.url).rsplit("/", 1)[-1]
    decided = client.post(
        f"/tasks/{task_id}",
        data={"label": "sport", "csrf_token": token_in(page.text)},
        follow_redirects=False,
    )
    assert (decided.status_code, decided.headers["location"]) == (
        303,
        f"/queues/topics/next?saved={task_id}",
    )
    following = client.get("/queues/topics/next")
    assert "part 1" in following.text  # the next task loads at once
    skipped = client.post(
        str(following.url).replace("http://testserver", ""),
        data={"action": "skip", "csrf_token": token_in(following.text)},
    )
    assert "part 2" in skipped.text
    with people.session() as session:
        decisions = session.execute(select(ReviewDecision.task_id, ReviewDecision.label)).all()
        done = session.get(ReviewTask, task_id)
    assert [label for _, label in decisions] == ["sport", ""]  # a skip has no label
    assert done is not None and (done.status, done.final_label) == ("done", "sport")


def test_forms_without_the_csrf_token_are_refused_and_change_nothing(
    client: TestClient, people: Store
) -> None:
    login = client.post("/login", data={"email": "rita@example.com", "password": PASSWORD})
    assert login.status_code == 403 and "security token" in login.text
    sign_in(client, "rita@example.com")
    page = client.get("/queues/topics/next")
    task_id = str(page.url).rsplit("/", 1)[-1]
    for token in ("", "forged"):
        refused = client.post(f"/tasks/{task_id}", data={"label": "sport", "csrf_token": token})
        assert refused.status_code == 403
    with people.session() as session:
        assert session.scalars(select(ReviewDecision)).all() == []
    assert client.post("/logout", data={}).status_code == 403


def test_a_reviewer_cannot_open_a_queue_they_are_not_assigned_to(
    client: TestClient, people: Store
) -> None:
    sign_in(client, "otto@example.com")
    assert "topics" not in client.get("/").text
    refused = client.get("/queues/topics/next")
    assert refused.status_code == 403
    assert "not assigned to classifier &#x27;topics&#x27;" in refused.text
    assert refused.headers["content-type"].startswith("text/html")


def test_signing_out_ends_the_session(client: TestClient, people: Store) -> None:
    token = sign_in(client, "rita@example.com")
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_portal_pages_carry_security_headers_and_the_api_keeps_json(
    client: TestClient, people: Store
) -> None:
    page = client.get("/login")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    api = client.get("/v1/classifiers/nope/review/tasks", headers={"x-api-key": "tl_wrong"})
    assert api.headers["content-type"] == "application/json"
    assert "content-security-policy" not in api.headers


def test_a_task_without_a_suggestion_offers_every_label_and_enter_approves_none(
    client: TestClient, people: Store
) -> None:
    with people.session() as session:  # drawn at random before any model: no scores at all
        for task in session.scalars(select(ReviewTask)):
            task.source, task.suggested_label, task.confidence = "pool", None, None
    sign_in(client, "rita@example.com")
    page = client.get("/queues/topics/next").text
    for key, label in enumerate(["finance", "sport", "weather"], start=1):
        assert f"<kbd>{key}</kbd> {label}" in page
    assert 'id="approve"' not in page and "approve the suggestion" not in page
