"""The audit log: every admin action and review decision, over the API, in the portal and with
the CLI, leaves one entry saying who, what, when and from where; nothing else does; and admins,
only admins, can read it back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import Templates
from tests.processes import environment, run_cli
from tests.serving.conftest import deploy_topics
from tests.serving.portal import PASSWORD, sign_in, token_in
from textloop.config import Settings
from textloop.security.accounts import create_user
from textloop.security.api_keys import IssuedKey, create_api_key
from textloop.security.audit import Actor, record
from textloop.serving.app import create_app
from textloop.serving.audit_trail import Pending
from textloop.store import Store
from textloop.store.queries import get_classifier, get_or_create_classifier
from textloop.store.tables import AuditEntry, ReviewTask, User

DEPLOY = "POST /v1/classifiers/{name}/deployments"


@dataclass
class Service:
    """A running app over a store with an admin and a reviewer, and keys of several kinds."""

    client: TestClient
    store: Store
    keys: dict[str, IssuedKey]

    def header(self, name: str) -> dict[str, str]:
        return {"x-api-key": self.keys[name].key}

    def entries(self) -> list[AuditEntry]:
        with self.store.session() as session:
            return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))

    def user_id(self, email: str) -> int:
        with self.store.session() as session:
            found = session.scalar(select(User.id).where(User.email == email))
            assert found is not None
            return found


def serve(store: Store, settings: Settings) -> Iterator[Service]:
    with store.session() as session:
        create_user(session, "admin@example.com", PASSWORD, "admin")
        create_user(session, "rita@example.com", PASSWORD, "reviewer")
        get_or_create_classifier(session, "other")
        issued = {
            "admin": create_api_key(session, ["admin"], name="ci"),
            "limited": create_api_key(session, ["admin"], ["other"], name="other's admin"),
            "classify": create_api_key(session, ["classify"], name="web shop"),
            "feedback": create_api_key(session, ["feedback"]),
            "review": create_api_key(session, ["review"]),
            "rita": create_api_key(session, ["review"], None, "laptop", "rita@example.com"),
        }
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Service(client, store, issued)


@pytest.fixture
def service(store: Store, settings: Settings) -> Iterator[Service]:
    """No classifier trained: enough to read the log."""
    yield from serve(store, settings)


@pytest.fixture
def deployed(
    store: Store, settings: Settings, corpus_csv: Path, templates: Templates
) -> Iterator[Service]:
    """``topics`` trained and in production, with three tasks waiting for review."""
    templates.apply(store, settings, corpus_csv, deploy_topics)
    with store.session() as session:
        topics = get_classifier(session, "topics")
        for number in range(3):
            session.add(
                ReviewTask(
                    classifier_id=topics.id,
                    source="implicit",
                    text=f"the striker and the coach, part {number}",
                    suggested_label="sport",
                    confidence=0.45,
                )
            )
    yield from serve(store, settings)


def test_a_deploy_over_the_api_leaves_one_entry_before_it_is_acknowledged(
    deployed: Service,
) -> None:
    answer = deployed.client.post(
        "/v1/classifiers/topics/deployments", json={"version": 1}, headers=deployed.header("admin")
    )
    assert answer.status_code == 201, answer.text
    (entry,) = deployed.entries()  # on record by the time the client has its answer
    admin = deployed.keys["admin"]
    assert entry.actor == f"key {admin.id} {admin.prefix} (ci)"
    assert (entry.api_key_id, entry.user_id) == (admin.id, None)
    assert (entry.action, entry.target, entry.status) == (DEPLOY, "topics", 201)
    assert entry.source == "testclient"  # the client's address, as the server saw it
    assert entry.details["version"] == 1 and entry.details["force"] is False


def test_refused_admin_actions_of_a_known_key_are_recorded_and_unknown_callers_are_not(
    deployed: Service,
) -> None:
    url = "/v1/classifiers/topics/deployments"
    assert (
        deployed.client.post(url, json={}, headers=deployed.header("classify")).status_code == 403
    )
    assert deployed.client.post(url, json={}, headers={"x-api-key": "tl_nope"}).status_code == 401
    assert deployed.client.post(url, json={}).status_code == 401
    unknown = deployed.client.post(
        "/v1/classifiers/nope/deployments", json={}, headers=deployed.header("admin")
    )
    assert unknown.status_code == 404
    refused, missing = deployed.entries()
    classify = deployed.keys["classify"]
    assert refused.actor == f"key {classify.id} {classify.prefix} (web shop)"
    assert (refused.action, refused.target, refused.status) == (DEPLOY, "topics", 403)
    assert (missing.target, missing.status) == ("nope", 404)


def test_an_admin_action_that_fails_unexpectedly_is_recorded_as_a_500(
    deployed: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr("textloop.serving.routes.jobs.rollback", broken)
    answer = deployed.client.post(
        "/v1/classifiers/topics/rollback", headers=deployed.header("admin")
    )
    assert answer.status_code == 500
    assert answer.headers["connection"] == "close"  # the server closes it: the client is told
    (entry,) = deployed.entries()
    assert (entry.action, entry.status) == ("POST /v1/classifiers/{name}/rollback", 500)


def test_classify_feedback_claims_and_reads_leave_no_entry(deployed: Service) -> None:
    client = deployed.client
    classified = client.post(
        "/v1/classifiers/topics/classify",
        json={"text": "rain and wind"},
        headers=deployed.header("classify"),
    )
    assert classified.status_code == 200
    feedback = client.post(
        "/v1/classifiers/topics/feedback",
        json={"text": "rain and wind", "label": "weather"},
        headers=deployed.header("feedback"),
    )
    assert feedback.status_code == 201
    claim = client.post("/v1/classifiers/topics/review/claim", headers=deployed.header("rita"))
    assert claim.status_code == 200
    for path in ("/v1/classifiers", "/v1/classifiers/topics/models", "/v1/audit"):
        assert client.get(path, headers=deployed.header("admin")).status_code == 200
    sign_in(client, "admin@example.com")
    assert client.get("/admin/keys").status_code == 200
    assert deployed.entries() == []


def test_a_review_decision_over_the_api_is_recorded_as_the_reviewer(deployed: Service) -> None:
    rita = deployed.header("rita")
    task = deployed.client.post("/v1/classifiers/topics/review/claim", headers=rita).json()
    decided = deployed.client.post(
        f"/v1/review/tasks/{task['id']}/decision", json={"label": "sport"}, headers=rita
    )
    assert decided.status_code == 200, decided.text
    (entry,) = deployed.entries()
    key = deployed.keys["rita"]
    assert entry.actor == f"user rita@example.com via key {key.id} {key.prefix} (laptop)"
    assert (entry.api_key_id, entry.user_id) == (key.id, deployed.user_id("rita@example.com"))
    assert entry.action == "POST /v1/review/tasks/{task_id}/decision"
    assert (entry.target, entry.status, entry.source) == (task["id"], 200, "testclient")
    assert entry.details == {"label": "sport", "classifier": "topics"}


def test_a_review_decision_in_the_portal_is_recorded_as_the_person(deployed: Service) -> None:
    client = deployed.client
    sign_in(client, "rita@example.com")
    page = client.get("/queues/topics/next")  # follows the redirect to the claimed task
    task_id = str(page.url).rsplit("/", 1)[1]
    decided = client.post(
        f"/tasks/{task_id}",
        data={"label": "sport", "csrf_token": token_in(page.text)},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    (entry,) = deployed.entries()  # signing in and claiming are not recorded
    assert entry.actor == "user rita@example.com"
    assert (entry.api_key_id, entry.user_id) == (None, deployed.user_id("rita@example.com"))
    assert (entry.action, entry.target) == ("POST /tasks/{task_id}", task_id)
    assert (entry.status, entry.source) == (303, "testclient")
    assert entry.details == {"label": "sport", "classifier": "topics"}


def test_a_key_created_in_the_portal_is_recorded_without_the_key(service: Service) -> None:
    client = service.client
    token = sign_in(client, "admin@example.com")
    created = client.post(
        "/admin/keys", data={"name": "ops", "scope_metrics": "1", "csrf_token": token}
    )
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"  # the page shows the key once
    key = created.text.split('id="new-key">')[1].split("<")[0]
    (entry,) = service.entries()
    assert entry.actor == "user admin@example.com"
    assert entry.user_id == service.user_id("admin@example.com")
    assert (entry.action, entry.status, entry.source) == ("POST /admin/keys", 200, "testclient")
    assert entry.target is not None and entry.target.startswith("key ")
    assert entry.details["scopes"] == ["metrics"] and entry.details["prefix"] == key[:10]
    assert key not in json.dumps(entry.details)


@pytest.mark.storage
def test_an_action_that_cannot_be_recorded_is_not_acknowledged(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unwritable(self: Pending, store: Store) -> None:
        raise OSError("the audit log's disk is full")

    monkeypatch.setattr(Pending, "write", unwritable)
    token = sign_in(service.client, "admin@example.com")
    answer = service.client.post("/admin/keys", data={"scope_review": "1", "csrf_token": token})
    assert answer.status_code == 500 and 'id="new-key"' not in answer.text


def test_a_reviewer_refused_an_admin_form_is_recorded_with_403(service: Service) -> None:
    token = sign_in(service.client, "rita@example.com")
    refused = service.client.post("/admin/keys", data={"scope_admin": "1", "csrf_token": token})
    assert refused.status_code == 403
    (entry,) = service.entries()
    assert (entry.actor, entry.action, entry.status) == (
        "user rita@example.com",
        "POST /admin/keys",
        403,
    )


@pytest.mark.storage
def test_a_refusal_repeated_is_counted_on_one_entry_not_written_again(
    service: Service,
) -> None:
    token = sign_in(service.client, "rita@example.com")
    for _ in range(50):
        refused = service.client.post("/admin/keys", data={"scope_admin": "1", "csrf_token": token})
        assert refused.status_code == 403
    (entry,) = service.entries()
    assert entry.status == 403 and entry.details["repeated"] == 49


def seed(store: Store, key_id: int) -> list[int]:
    """Seven entries on four days of November 2026, oldest first; returns their ids."""
    rows = [
        (1, "POST /v1/classifiers/{name}/deployments", "topics", key_id),
        (1, "POST /v1/classifiers/{name}/retrain", "topics", key_id),
        (2, "POST /v1/classifiers/{name}/deployments", "other", None),
        (2, "POST /admin/keys", "key 9", None),
        (3, "POST /v1/classifiers/{name}/rollback", "topics", key_id),
        (3, "textloop deploy", "topics", None),
        (4, "POST /v1/classifiers/{name}/deployments", "topics", key_id),
    ]
    ids = []
    with store.session() as session:
        for day, action, target, key in rows:
            actor = Actor(f"key {key}", api_key_id=key) if key else Actor("user ann@example.com")
            entry = record(session, actor, action, target, 201, "10.0.0.7", {})
            entry.at = datetime(2026, 11, day, 12, tzinfo=UTC)
            ids.append(entry.id)
    return ids


def test_the_audit_api_is_for_unrestricted_admin_keys(service: Service) -> None:
    for name in ("classify", "review", "rita", "limited"):
        assert service.client.get("/v1/audit", headers=service.header(name)).status_code == 403
    assert service.client.get("/v1/audit").status_code == 401
    assert service.client.get("/v1/audit", headers=service.header("admin")).status_code == 200


@pytest.mark.storage
def test_the_audit_api_filters_and_pages_newest_first(service: Service) -> None:
    key_id = service.keys["admin"].id
    ids = seed(service.store, key_id)

    def page(**query: object) -> dict:
        answer = service.client.get("/v1/audit", params=query, headers=service.header("admin"))
        assert answer.status_code == 200, answer.text
        return answer.json()

    def found(**query: object) -> list[int]:
        return [entry["id"] for entry in page(**query)["entries"]]

    assert found() == ids[::-1]
    first = page(limit=3)
    assert [e["id"] for e in first["entries"]] == ids[:-4:-1] and first["next"] == ids[4]
    second = page(limit=3, before_id=first["next"])
    assert [e["id"] for e in second["entries"]] == ids[3:0:-1]
    last = page(limit=3, before_id=second["next"])
    assert [e["id"] for e in last["entries"]] == ids[:1] and last["next"] is None

    assert found(action="deployments") == [ids[6], ids[2], ids[0]]
    assert found(target="topics", key_id=key_id) == [ids[6], ids[4], ids[1], ids[0]]
    assert found(actor="ann@") == [ids[5], ids[3], ids[2]]
    assert found(since="2026-11-02", until="2026-11-03") == [ids[5], ids[4], ids[3], ids[2]]
    assert found(since="2026-11-03T12:00:00+00:00", until="2026-11-04") == [ids[6], ids[5], ids[4]]
    assert found(since="", action="") == ids[::-1]  # blank fields, as a form sends them
    entry = page(limit=1)["entries"][0]
    assert entry["actor"] == f"key {key_id}" and entry["source"] == "10.0.0.7"

    for bad in ({"limit": 501}, {"limit": 0}, {"since": "last tuesday"}, {"before_id": 0}):
        answer = service.client.get("/v1/audit", params=bad, headers=service.header("admin"))
        assert answer.status_code == 422, bad


def test_the_portal_audit_page_is_for_admins_and_filters_like_the_api(service: Service) -> None:
    ids = seed(service.store, service.keys["admin"].id)
    client = service.client
    sign_in(client, "rita@example.com")
    assert client.get("/admin/audit").status_code == 403
    client.cookies.clear()

    sign_in(client, "admin@example.com")
    assert 'href="/admin/audit"' in client.get("/admin/keys").text  # linked from the admin nav
    page = client.get("/admin/audit")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.text.count("<script") == page.text.count("<script src=")  # no inline script
    assert page.text.count("<tr><td>") == len(ids)
    filtered = client.get(
        "/admin/audit",
        params={"since": "2026-11-02", "until": "2026-11-03", "key_id": "", "action": "deploy"},
    )
    assert filtered.status_code == 200
    assert filtered.text.count("<tr><td>") == 2  # the other classifier's deploy and the CLI's
    assert "textloop deploy" in filtered.text and "10.0.0.7" in filtered.text
    assert 'value="deploy"' in filtered.text  # the form keeps what was asked


def test_the_cli_records_what_it_changes_and_lists_the_log(
    tmp_path: Path, database_url: str
) -> None:
    env = environment(tmp_path / "data", database_url)
    created = run_cli(env, "keys", "create", "--scopes", "admin", "--name", "ops", "--json")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)

    listed = run_cli(env, "audit", "--json")
    assert listed.returncode == 0, listed.stderr
    (entry,) = json.loads(listed.stdout)
    assert entry["actor"].startswith("cli ") and "@" in entry["actor"]
    assert (entry["action"], entry["target"]) == ("textloop keys create", f"key {key['id']}")
    assert (entry["source"], entry["status"]) == ("cli", None)
    assert entry["details"]["scopes"] == ["admin"] and key["api_key"] not in listed.stdout

    text = run_cli(env, "audit", "--limit", "5")
    assert text.returncode == 0 and "textloop keys create" in text.stdout
    refused = run_cli(env, "audit", "--limit", "0")
    assert refused.returncode == 1 and refused.stderr.strip().count("\n") == 0
