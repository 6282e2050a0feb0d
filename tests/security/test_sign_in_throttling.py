"""Portal sign-in cannot be brute-forced and does not tell which accounts exist (probe finding 2).

After 5 failures for one email, or 20 from one address, within 15 minutes, further attempts are
refused with 429 and ``Retry-After`` (the right password too) until the oldest failure is 15
minutes old. The failures live in the database, so every server process sharing it counts the
same ones. An unknown or disabled account costs the same password check as a real one.
"""

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.serving.portal import PASSWORD, token_in
from textloop.config import Settings
from textloop.security import accounts
from textloop.security.accounts import create_user
from textloop.security.passwords import needs_rehash, verify_password
from textloop.serving.app import create_app
from textloop.store import Store
from textloop.store.tables import SignInFailure, User

pytestmark = pytest.mark.storage

WRONG = "not the password at all"


@pytest.fixture
def people(store: Store) -> Store:
    with store.session() as session:
        create_user(session, "admin@example.com", PASSWORD, "admin")
        create_user(session, "rita@example.com", PASSWORD, "reviewer")
        create_user(session, "gone@example.com", PASSWORD, "reviewer").disabled = True
    return store


def portal(settings: Settings, address: str = "203.0.113.7") -> TestClient:
    """A browser at ``address`` on a server process of its own (its own app and runtime)."""
    return TestClient(create_app(settings), raise_server_exceptions=False, client=(address, 4321))


@pytest.fixture
def browser(people: Store, settings: Settings) -> Iterator[TestClient]:
    with portal(settings) as client:
        yield client


def attempt(client: TestClient, email: str, password: str) -> httpx.Response:
    token = token_in(client.get("/login").text)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert 0 < int(response.headers["retry-after"]) <= 15 * 60
    assert "too many failed sign-ins" in response.text
    assert "textloop_session" not in response.headers.get("set-cookie", "")


def test_the_sixth_attempt_on_an_account_is_refused_even_with_the_right_password(
    browser: TestClient,
) -> None:
    for _ in range(5):
        failed = attempt(browser, "rita@example.com", WRONG)
        assert failed.status_code == 200 and "wrong email or password" in failed.text
    assert_refused(attempt(browser, "rita@example.com", PASSWORD))
    assert_refused(attempt(browser, "RITA@example.com ", PASSWORD))
    assert attempt(browser, "admin@example.com", PASSWORD).status_code == 303


def test_the_lock_lifts_when_the_failures_are_fifteen_minutes_old(
    browser: TestClient, people: Store
) -> None:
    for _ in range(5):
        attempt(browser, "rita@example.com", WRONG)
    for _ in range(3):  # knocking on a locked account does not keep it locked
        assert_refused(attempt(browser, "rita@example.com", PASSWORD))
    with people.session() as session:
        session.execute(update(SignInFailure).values(at=SignInFailure.at - timedelta(minutes=15)))
    assert attempt(browser, "rita@example.com", PASSWORD).status_code == 303


def test_a_successful_sign_in_forgets_the_accounts_failures(browser: TestClient) -> None:
    for _ in range(2):
        for _ in range(4):
            assert attempt(browser, "rita@example.com", WRONG).status_code == 200
        assert attempt(browser, "rita@example.com", PASSWORD).status_code == 303


def test_unknown_accounts_are_throttled_like_real_ones(browser: TestClient) -> None:
    for _ in range(5):
        assert attempt(browser, "nobody@example.com", WRONG).status_code == 200
    assert_refused(attempt(browser, "nobody@example.com", WRONG))


def test_one_address_trying_many_accounts_is_refused_and_others_are_not(
    people: Store, settings: Settings
) -> None:
    with portal(settings, "198.51.100.9") as attacker, portal(settings) as colleague:
        for number in range(20):
            assert attempt(attacker, f"guess{number}@example.com", WRONG).status_code == 200
        assert_refused(attempt(attacker, "rita@example.com", PASSWORD))
        assert attempt(colleague, "rita@example.com", PASSWORD).status_code == 303


def test_failures_count_across_server_processes_sharing_the_database(
    people: Store, settings: Settings
) -> None:
    with portal(settings, "192.0.2.1") as first, portal(settings, "192.0.2.2") as second:
        for client in (first, second, first, second, first):
            assert attempt(client, "rita@example.com", WRONG).status_code == 200
        assert_refused(attempt(second, "rita@example.com", PASSWORD))
        assert_refused(attempt(first, "rita@example.com", PASSWORD))
    with people.session() as session:  # stored hashed: no typed text is kept readable
        subjects = session.scalars(select(SignInFailure.subject)).all()
        assert len(subjects) == 5 + 5 and all(len(s) == 64 and "@" not in s for s in subjects)


def test_unknown_and_disabled_accounts_cost_the_same_password_check(
    browser: TestClient, people: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each attempt runs one Argon2id check with today's parameters, against the account's hash
    or, when there is no usable account, a dummy one; the answers are the same."""
    checked: list[str] = []

    def recording_verify(stored: str, password: str) -> bool:
        checked.append(stored)
        return verify_password(stored, password)  # the real check, only watched

    monkeypatch.setattr(accounts, "verify_password", recording_verify)
    answers = [
        attempt(browser, email, password)
        for email, password in (
            ("rita@example.com", WRONG),
            ("nobody@example.com", WRONG),
            ("gone@example.com", PASSWORD),  # disabled: even its right password fails
        )
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert all("wrong email or password" in answer.text for answer in answers)
    assert len(checked) == 3
    assert all(stored.startswith("$argon2id$") and not needs_rehash(stored) for stored in checked)
    with people.session() as session:
        hashes = {user.email: user.password_hash for user in session.scalars(select(User))}
    assert checked[0] == hashes["rita@example.com"]
    assert checked[1] == checked[2] and checked[2] not in hashes.values()
