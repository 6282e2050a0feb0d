"""The portal's keys page: an admin gives a key an expiry and a plan, and sees its usage."""

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.security.conftest import CLASSIFY, TEXT
from tests.serving.portal import sign_in
from textloop.store import Store
from textloop.store.tables import ApiKey


def test_an_admin_creates_a_key_with_an_expiry_and_a_plan_and_sees_its_usage(
    client: TestClient, people: Store
) -> None:
    token = sign_in(client, "admin@example.com")
    form = {
        "csrf_token": token,
        "scope_classify": "1",
        "name": "partner",
        "expires_at": "2099-06-30",
        "monthly_quota": "500",
        "rate_per_second": "",
        "burst": "",
    }
    created = client.post("/admin/keys", data=form)
    key = created.text.split('id="new-key">')[1].split("<")[0]
    with people.session() as session:
        record = session.scalar(select(ApiKey).where(ApiKey.prefix == key[:10]))
        assert record is not None
        assert (record.monthly_quota, record.rate_per_second, record.burst) == (500, None, None)
        assert record.expires_at is not None and record.expires_at.date().isoformat() == (
            "2099-06-30"
        )

    for _ in range(2):
        assert client.post(CLASSIFY, json=TEXT, headers={"x-api-key": key}).status_code == 200
    page = client.get("/admin/keys").text
    row = page.split(f"<code>{key[:10]}…</code>")[1].split("</tr>")[0]
    assert "500/month" in row and "2 requests, 498 left" in row and "2099-06-30 00:00" in row


def test_a_bad_plan_in_the_form_is_refused_and_creates_nothing(
    client: TestClient, people: Store
) -> None:
    token = sign_in(client, "admin@example.com")
    for bad in ({"monthly_quota": "lots"}, {"burst": "3"}, {"expires_at": "2001-01-01"}):
        answer = client.post(
            "/admin/keys", data={"csrf_token": token, "scope_classify": "1", **bad}
        )
        assert answer.status_code == 422
    with people.session() as session:
        assert session.scalars(select(ApiKey)).all() == []
