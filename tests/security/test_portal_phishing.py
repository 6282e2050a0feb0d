"""Portal pages show only our own words (probe finding 3): the login page maps an error code to
a fixed message, and the keys page shows a new key only on the answer that created it, never
from the address, where anyone could put text of their choosing in a link."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.serving.portal import PASSWORD, sign_in
from textloop.config import Settings
from textloop.security.accounts import create_user
from textloop.serving.app import create_app
from textloop.store import Store

# what these check does not depend on the database: SQLite alone keeps CI short

PHISH = "Your account is locked. Call +1 555 0100 or visit evil.example to unlock it"


@pytest.fixture
def client(store: Store, settings: Settings) -> Iterator[TestClient]:
    with store.session() as session:
        create_user(session, "admin@example.com", PASSWORD, "admin")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_the_login_page_shows_no_text_from_the_address(client: TestClient) -> None:
    page = client.get("/login", params={"error": PHISH})
    assert page.status_code == 200
    assert "evil.example" not in page.text and 'role="alert"' not in page.text


def test_the_login_page_shows_the_fixed_message_of_a_known_code(client: TestClient) -> None:
    page = client.get("/login?error=credentials")
    assert '<p class="error" role="alert">wrong email or password</p>' in page.text


def test_the_keys_page_shows_no_key_from_the_address(client: TestClient) -> None:
    sign_in(client, "admin@example.com")
    page = client.get("/admin/keys", params={"new_key": "tl_" + PHISH})
    assert page.status_code == 200
    assert "evil.example" not in page.text and 'id="new-key"' not in page.text


def test_a_new_key_is_shown_once_on_the_answer_that_created_it(client: TestClient) -> None:
    token = sign_in(client, "admin@example.com")
    created = client.post("/admin/keys", data={"csrf_token": token, "scope_classify": "1"})
    key = created.text.split('id="new-key">')[1].split("<")[0]
    assert key.startswith("tl_")
    again = client.get("/admin/keys")
    assert key not in again.text and key[:10] in again.text  # the prefix stays listed
