"""Admin pages: only admins, CSRF on every form, and each form does what it says."""

from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from tests.serving.conftest import settle
from tests.serving.portal import PASSWORD, sign_in, token_in
from textloop.config import Settings
from textloop.notifications.destinations import Destinations
from textloop.notifications.webhooks import add_webhook
from textloop.pipeline.training import train_classifier
from textloop.registry.aliases import PRODUCTION
from textloop.review.assignments import claim_next, decide
from textloop.store import Store
from textloop.store.queries import aliased_model, get_classifier
from textloop.store.tables import ApiKey, ReviewTask, User

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
