"""Portal accounts are disabled, enabled and removed, from the CLI and the admin users page
(probe finding 4).

A disabled person cannot sign in and their open sessions end at once. Removal is refused while
the person has review decisions (they must keep naming who made them: disable instead). The last
active admin can be neither disabled nor removed. Every change leaves an audit entry.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.processes import environment, run_cli
from tests.serving.portal import PASSWORD, sign_in, token_in
from textloop.config import Settings
from textloop.review.assignments import claim_next, decide
from textloop.security.accounts import create_user
from textloop.serving.app import create_app
from textloop.store import Store
from textloop.store.tables import AuditEntry, ReviewTask, User

# what these check does not depend on the database: SQLite alone keeps CI short


@pytest.fixture
def people(store: Store, classifier_id: int) -> Store:
    """An admin, reviewer rita with one decision on ``topics``, and reviewer otto with none."""
    with store.session() as session:
        create_user(session, "admin@example.com", PASSWORD, "admin")
        rita = create_user(session, "rita@example.com", PASSWORD, "reviewer").id
        create_user(session, "otto@example.com", PASSWORD, "reviewer")
        session.add(ReviewTask(classifier_id=classifier_id, source="pool", text="the goal"))
        session.flush()
        task = claim_next(session, "topics", rita)
        assert task is not None
        decide(session, task.id, rita, "sport")
    return store


def user_id(store: Store, email: str) -> int | None:
    with store.session() as session:
        return session.scalar(select(User.id).where(User.email == email))


def is_disabled(store: Store, email: str) -> bool:
    with store.session() as session:
        return bool(session.scalar(select(User.disabled).where(User.email == email)))


def audited(store: Store, action: str) -> list[str | None]:
    with store.session() as session:
        return list(
            session.scalars(
                select(AuditEntry.target).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


@pytest.fixture
def portal(people: Store, settings: Settings) -> Iterator[tuple[TestClient, TestClient]]:
    """Two browsers, the admin's and rita's, each on a server process of its own."""
    with (
        TestClient(create_app(settings), raise_server_exceptions=False) as admin,
        TestClient(create_app(settings), raise_server_exceptions=False) as rita,
    ):
        yield admin, rita


def press(client: TestClient, token: str, store: Store, email: str, change: str) -> int:
    """Press a button of the users page on ``email``'s row; the answer's status."""
    path = f"/admin/users/{user_id(store, email)}/{change}"
    return client.post(path, data={"csrf_token": token}, follow_redirects=False).status_code


def test_disabling_ends_open_sessions_and_refuses_sign_in_until_enabled(
    portal: tuple[TestClient, TestClient], people: Store
) -> None:
    admin, rita = portal
    token = sign_in(admin, "admin@example.com")
    sign_in(rita, "rita@example.com")
    assert rita.get("/", follow_redirects=False).status_code == 200

    assert press(admin, token, people, "rita@example.com", "disable") == 303
    assert is_disabled(people, "rita@example.com")
    assert rita.get("/", follow_redirects=False).headers["location"] == "/login"
    form = token_in(rita.get("/login").text)
    refused = rita.post(
        "/login", data={"email": "rita@example.com", "password": PASSWORD, "csrf_token": form}
    )
    assert "wrong email or password" in refused.text
    row = admin.get("/admin/users").text.split("rita@example.com")[1].split("</tr>")[0]
    assert "disabled" in row and "Enable" in row

    assert press(admin, token, people, "rita@example.com", "enable") == 303
    sign_in(rita, "rita@example.com")
    path = "POST /admin/users/{user_id}/"
    assert (
        audited(people, path + "disable")
        == audited(people, path + "enable")
        == ["rita@example.com"]
    )


def test_the_buttons_need_the_forms_token_and_an_admin(
    portal: tuple[TestClient, TestClient], people: Store
) -> None:
    admin, rita = portal
    sign_in(admin, "admin@example.com")
    rita_token = sign_in(rita, "rita@example.com")
    assert press(admin, "forged", people, "otto@example.com", "disable") == 403
    assert press(rita, rita_token, people, "otto@example.com", "remove") == 403
    assert not is_disabled(people, "otto@example.com")
    assert user_id(people, "otto@example.com") is not None


def test_removal_is_refused_while_the_person_has_decisions(
    portal: tuple[TestClient, TestClient], people: Store
) -> None:
    admin, _ = portal
    token = sign_in(admin, "admin@example.com")
    path = f"/admin/users/{user_id(people, 'rita@example.com')}/remove"
    refused = admin.post(path, data={"csrf_token": token})
    assert refused.status_code == 422
    assert "1 review decision" in refused.text and "disable the account instead" in refused.text
    assert user_id(people, "rita@example.com") is not None

    assert press(admin, token, people, "otto@example.com", "remove") == 303
    assert user_id(people, "otto@example.com") is None
    assert "otto@example.com" not in admin.get("/admin/users").text
    assert audited(people, "POST /admin/users/{user_id}/remove") == [
        "rita@example.com",  # refused, and on record as such
        "otto@example.com",
    ]


def test_the_last_active_admin_can_be_neither_disabled_nor_removed(
    portal: tuple[TestClient, TestClient], people: Store
) -> None:
    admin, _ = portal
    token = sign_in(admin, "admin@example.com")
    for change in ("disable", "remove"):
        assert press(admin, token, people, "admin@example.com", change) == 422
    assert not is_disabled(people, "admin@example.com")
    with people.session() as session:
        create_user(session, "second@example.com", PASSWORD, "admin").disabled = True
    assert press(admin, token, people, "admin@example.com", "disable") == 422  # not active
    assert press(admin, token, people, "second@example.com", "enable") == 303
    assert press(admin, token, people, "second@example.com", "disable") == 303
    assert press(admin, token, people, "second@example.com", "enable") == 303
    assert press(admin, token, people, "admin@example.com", "disable") == 303


@pytest.fixture
def env(people: Store, tmp_path: Path, database_url: str) -> dict[str, str]:
    return environment(tmp_path / "data", database_url)


def test_the_cli_disables_enables_and_removes(env: dict[str, str], people: Store) -> None:
    disabled = run_cli(env, "users", "disable", "RITA@example.com", "--json")
    assert disabled.returncode == 0, disabled.stderr
    assert json.loads(disabled.stdout)["disabled"] is True
    assert is_disabled(people, "rita@example.com")
    listed = {u["email"]: u for u in json.loads(run_cli(env, "users", "list", "--json").stdout)}
    assert listed["rita@example.com"]["disabled"] is True

    enabled = run_cli(env, "users", "enable", "rita@example.com")
    assert enabled.returncode == 0 and "Enabled rita@example.com" in enabled.stdout
    assert not is_disabled(people, "rita@example.com")

    removed = run_cli(env, "users", "remove", "otto@example.com")
    assert removed.returncode == 0 and "Removed otto@example.com" in removed.stdout
    assert user_id(people, "otto@example.com") is None
    for command in ("disable", "enable", "remove"):
        assert len(audited(people, f"textloop users {command}")) == 1


def test_the_cli_refuses_in_one_line_and_changes_nothing(
    env: dict[str, str], people: Store
) -> None:
    for args, message in (
        (("remove", "rita@example.com"), "disable the account instead"),
        (("disable", "admin@example.com"), "last active admin"),
        (("remove", "admin@example.com"), "last active admin"),
        (("disable", "nobody@example.com"), "no portal account"),
    ):
        result = run_cli(env, "users", *args)
        assert result.returncode == 1 and result.stdout == "", args
        assert result.stderr.strip().count("\n") == 0 and message in result.stderr
    assert user_id(people, "rita@example.com") is not None
    assert not is_disabled(people, "admin@example.com")


def test_removing_a_person_whose_key_sent_feedback_keeps_that_key_revoked(
    people: Store,
) -> None:
    from textloop.security.accounts import find_user, remove_user
    from textloop.security.api_keys import create_api_key
    from textloop.store.tables import ApiKey, Feedback

    with people.session() as session:
        key = create_api_key(session, ["feedback"], user_email="otto@example.com")
        classifier = session.scalars(select(ReviewTask.classifier_id)).first()
        session.add(Feedback(classifier_id=classifier, text="wrong", api_key_id=key.id))
    with people.session() as session:
        remove_user(session, find_user(session, "otto@example.com"))
    with people.session() as session:
        kept = session.get(ApiKey, key.id)
        assert kept is not None and kept.revoked_at is not None and kept.user_id is None
        assert session.scalars(select(Feedback.api_key_id)).all() == [key.id]
