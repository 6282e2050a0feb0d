"""``textloop keys create/list/revoke`` as operators run them: the real executable, JSON out."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.processes import environment, run_cli


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return environment(tmp_path / "data", database_url)


def test_create_list_and_revoke_a_key_with_an_expiry_and_a_plan(env: dict[str, str]) -> None:
    created = run_cli(
        env, "keys", "create", "--scopes", "classify", "--name", "partner",
        "--expires-in", "30", "--quota", "1000", "--rate", "2.5", "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    assert key["api_key"].startswith("tl_")
    assert key["plan"] == {"monthly_quota": 1000, "rate_per_second": 2.5, "burst": 3}
    expiry = datetime.fromisoformat(key["expires_at"])
    assert timedelta(days=29) < expiry - datetime.now(UTC) <= timedelta(days=30)
    plain = json.loads(run_cli(env, "keys", "create", "--expires", "2099-01-31", "--json").stdout)
    assert plain["expires_at"] == "2099-01-31T00:00:00+00:00" and plain["plan"] is None

    listed = run_cli(env, "keys", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    newest, first = json.loads(listed.stdout)
    assert (newest["id"], first["id"]) == (plain["id"], key["id"])
    assert first["prefix"] == key["api_key"][:10] and first["name"] == "partner"
    assert first["scopes"] == ["classify"] and first["classifiers"] is None
    assert first["plan"] == key["plan"]
    assert datetime.fromisoformat(first["expires_at"]) == expiry
    assert first["last_used_at"] is None and first["revoked_at"] is None

    revoked = run_cli(env, "keys", "revoke", str(key["id"]))
    assert revoked.returncode == 0, revoked.stderr
    assert f"Revoked API key {key['id']}" in revoked.stdout
    table = run_cli({**env, "COLUMNS": "200"}, "keys", "list").stdout  # for people
    assert f"{key['api_key'][:10]}… partner" in table
    assert "classify on all" in table and "1,000/month, 2.5/s (burst 3)" in table
    (after,) = [k for k in json.loads(run_cli(env, "keys", "list", "--json").stdout) if k["name"]]
    assert after["revoked_at"] is not None


def test_bad_limits_are_one_line_and_create_nothing(env: dict[str, str]) -> None:
    for options, message in (
        (("--expires-in", "1", "--expires", "2099-01-01"), "not both"),
        (("--expires", "next tuesday"), "--expires takes YYYY-MM-DD"),
        (("--burst", "5"), "a burst needs a rate"),
    ):
        result = run_cli(env, "keys", "create", *options)
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.strip().count("\n") == 0 and message in result.stderr
    assert json.loads(run_cli(env, "keys", "list", "--json").stdout) == []


def test_revoking_a_key_that_does_not_exist_says_so(env: dict[str, str]) -> None:
    result = run_cli(env, "keys", "revoke", "41")
    assert result.returncode == 1 and "API key 41 does not exist" in result.stderr
