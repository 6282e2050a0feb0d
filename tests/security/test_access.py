"""Who may call what: every API route against every kind of bad key, and every portal page
against every wrong role and every form against a missing CSRF token.

The access rules are listed here route by route; a route the application serves that is not
listed fails the first test, so a new route cannot ship without its rule.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.serving.conftest import settle
from tests.serving.portal import sign_in
from textloop.config import Settings
from textloop.security.api_keys import SCOPES, create_api_key
from textloop.serving.app import create_app
from textloop.serving.portal import admin, models, pages
from textloop.store import Store
from textloop.store.tables import ApiKey, User

PUBLIC = None
ANY_KEY = "any valid key"
# (method, path) → the scope a key needs; ``admin`` holds every scope.
ACCESS: dict[tuple[str, str], str | None] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("POST", "/v1/classifiers/{name}/classify"): "classify",
    ("POST", "/v1/classify"): "classify",
    ("POST", "/v1/classifiers/{name}/feedback"): "feedback",
    ("POST", "/v1/classifiers/{name}/corrections"): "feedback",
    ("POST", "/v1/classifiers/{name}/batch-jobs"): "classify",
    ("GET", "/v1/batch-jobs/{batch_id}"): "classify",
    ("GET", "/v1/batch-jobs/{batch_id}/output"): "classify",
    ("POST", "/v1/batch-jobs/{batch_id}/cancel"): "classify",
    ("GET", "/v1/classifiers/{name}/review/tasks"): "review",
    ("POST", "/v1/classifiers/{name}/review/claim"): "review",
    ("POST", "/v1/review/tasks/{task_id}/decision"): "review",
    ("GET", "/v1/classifiers/{name}/review/export"): "admin",
    ("GET", "/v1/classifiers"): "admin",
    ("GET", "/v1/classifiers/{name}"): "admin",
    ("POST", "/v1/classifiers/{name}/datasets"): "admin",
    ("GET", "/v1/classifiers/{name}/models"): "admin",
    ("POST", "/v1/classifiers/{name}/models"): "admin",
    ("POST", "/v1/classifiers/{name}/deployments"): "admin",
    ("POST", "/v1/classifiers/{name}/promotions"): "admin",
    ("GET", "/v1/lineage/predictions/{prediction_id}"): "admin",
    ("GET", "/v1/lineage/classifiers/{name}/datasets/{version}"): "admin",
    ("GET", "/v1/classifiers/{name}/runs"): "admin",
    ("GET", "/v1/classifiers/{name}/runs/{run_id}"): "admin",
    ("POST", "/v1/classifiers/{name}/pool"): "admin",
    ("POST", "/v1/classifiers/{name}/pool/samples"): "admin",
    ("POST", "/v1/classifiers/{name}/retrain"): "admin",
    ("POST", "/v1/classifiers/{name}/rollback"): "admin",
    ("POST", "/v1/classifiers/{name}/backfill"): "admin",
    ("GET", "/v1/jobs/{job_id}"): "admin",
    ("POST", "/v1/webhooks"): "admin",
    ("GET", "/v1/webhooks/deliveries"): "admin",
    ("POST", "/v1/webhooks/{webhook_id}/disable"): "admin",
    ("POST", "/v1/webhooks/{webhook_id}/enable"): "admin",
    ("DELETE", "/v1/webhooks/{webhook_id}"): "admin",
    ("GET", "/v1/events"): "admin",
    ("GET", "/v1/classifiers/{name}/drift"): "admin",
    ("GET", "/v1/classifiers/{name}/shadow"): "admin",
    ("PUT", "/v1/classifiers/{name}/shadow"): "admin",
    ("GET", "/metrics"): "metrics",
    ("GET", "/v1/usage"): ANY_KEY,
    ("GET", "/v1/usage/keys"): "admin",
    ("GET", "/v1/audit"): "admin",
}
GUARDED = sorted((route, scope) for route, scope in ACCESS.items() if scope is not PUBLIC)
PATH_VALUES = {"name": "topics", "task_id": "0" * 32, "prediction_id": "0" * 32}


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "1"), path)


def call(client: TestClient, method: str, path: str, key: str | None) -> int:
    headers = {"x-api-key": key} if key is not None else {}
    body = {"text": "x", "classifiers": ["topics"]} if path == "/v1/classify" else {}
    json = body if method in ("POST", "PUT") else None
    return client.request(method, concrete(path), json=json, headers=headers).status_code


def issue(store: Store, scopes: list[str], classifiers: list[str] | None = None) -> str:
    with store.session() as session:
        return create_api_key(session, scopes, classifiers).key


def test_every_api_route_has_an_access_rule(tmp_path: Path) -> None:
    document = create_app(Settings.load(data_dir=tmp_path)).openapi()
    served = {(m.upper(), path) for path, item in document["paths"].items() for m in item}
    assert served == set(ACCESS), "list the scope of every new route in ACCESS"


def test_a_missing_wrong_revoked_or_expired_key_is_401_on_every_route(
    client: TestClient, deployed: Store
) -> None:
    revoked, expired = issue(deployed, ["admin"]), issue(deployed, ["admin"])
    with deployed.session() as session:
        now = datetime.now(UTC)
        session.execute(update(ApiKey).where(ApiKey.prefix == revoked[:10]).values(revoked_at=now))
        past = now - timedelta(seconds=1)
        session.execute(update(ApiKey).where(ApiKey.prefix == expired[:10]).values(expires_at=past))
    for key in (None, "", "tl_not-a-key", revoked, expired, revoked.upper()):
        answered = {route: call(client, *route, key) for route, _ in GUARDED}
        assert {r: s for r, s in answered.items() if s != 401} == {}, f"key {key!r}"


def test_a_key_without_the_scope_is_403_on_every_route(client: TestClient, deployed: Store) -> None:
    answered = {}
    for route, scope in GUARDED:
        if scope == ANY_KEY:
            continue
        others = [s for s in SCOPES if s not in (scope, "admin")]
        answered[route] = call(client, *route, issue(deployed, others))
    assert {r: s for r, s in answered.items() if s != 403} == {}


def test_a_key_for_another_classifier_cannot_touch_this_one(
    client: TestClient, deployed: Store
) -> None:
    answered = {}
    for route, scope in GUARDED:
        if "{name}" in route[1] or route[1] == "/v1/classify":
            for scopes in ([scope], ["admin"]):
                key = issue(deployed, scopes, ["other"])
                answered[(*route, scopes[0])] = call(client, *route, key)
    assert {r: s for r, s in answered.items() if s != 403} == {}


def portal_routes() -> list[tuple[str, str]]:
    routes = [r for m in (pages, admin, models) for r in m.router.routes if isinstance(r, APIRoute)]
    return sorted((method, route.path) for route in routes for method in route.methods)


def test_reviewers_are_refused_every_admin_page_and_form(client: TestClient, people: Store) -> None:
    token = sign_in(client, "rita@example.com")
    for method, path in portal_routes():
        if not path.startswith("/admin"):
            continue
        data = {"csrf_token": token} if method == "POST" else None
        response = client.request(method, concrete(path), data=data, follow_redirects=False)
        assert response.status_code == 403, f"{method} {path}"


def test_signed_out_visitors_are_sent_to_sign_in(client: TestClient, people: Store) -> None:
    for method, path in portal_routes():
        if path in ("/login", "/logout") or method != "GET":
            continue
        response = client.get(concrete(path), follow_redirects=False)
        assert (response.status_code, response.headers.get("location")) == (303, "/login"), path


def test_every_portal_form_refuses_a_missing_or_wrong_csrf_token(
    client: TestClient, people: Store
) -> None:
    sign_in(client, "admin@example.com")
    for method, path in portal_routes():
        if method != "POST":
            continue
        for data in ({}, {"csrf_token": "forged"}):
            response = client.post(concrete(path), data=data, follow_redirects=False)
            assert response.status_code == 403, f"{path} with {data}"


def test_a_key_limited_to_some_classifiers_cannot_read_other_keys_usage(
    client: TestClient, deployed: Store
) -> None:
    limited = {"x-api-key": issue(deployed, ["admin"], ["other"])}
    assert client.get("/v1/usage/keys", headers=limited).status_code == 403
    assert client.get("/v1/usage", params={"key_id": 99}, headers=limited).status_code == 403
    assert client.get("/v1/usage", headers=limited).status_code == 200  # its own


def test_a_reviewers_key_classifies_only_with_the_classifiers_assigned_today(
    client: TestClient, people: Store
) -> None:
    with people.session() as session:
        key = create_api_key(session, ["classify"], user_email="rita@example.com").key
        session.execute(
            update(User).where(User.email == "rita@example.com").values(classifiers=["other"])
        )
    body = {"classifiers": ["topics"], "text": "rain and wind tomorrow"}
    settle(client)
    answer = client.post("/v1/classify", json=body, headers={"x-api-key": key})
    assert answer.status_code == 403, answer.text


def test_a_key_limited_to_some_classifiers_lists_only_those(
    client: TestClient, deployed: Store
) -> None:
    limited = {"x-api-key": issue(deployed, ["admin"], ["other"])}
    assert client.get("/v1/classifiers", headers=limited).json() == []
    everything = {"x-api-key": issue(deployed, ["admin"])}
    assert [c["name"] for c in client.get("/v1/classifiers", headers=everything).json()] == [
        "topics"
    ]
