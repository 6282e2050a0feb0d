"""The address the audit log records is the connection's, unless the operator names the proxy
whose ``X-Forwarded-For`` to believe: a client cannot choose it by sending the header."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.processes import environment, run_cli, running_server
from textloop.config import Settings
from textloop.store import open_store
from textloop.store.tables import AuditEntry


def rollback_sources(tmp_path: Path, **extra: str) -> list[str | None]:
    env = {**environment(tmp_path / "data", f"sqlite:///{tmp_path / 't.db'}"), **extra}
    key = json.loads(run_cli(env, "init", "--json").stdout)["api_key"]
    with running_server(env, tmp_path / "server.log") as base:
        answer = httpx.post(
            f"{base}/v1/classifiers/none/rollback",
            headers={"x-api-key": key, "x-forwarded-for": "203.0.113.9"},
        )
        assert answer.status_code == 404  # refused, and recorded all the same
    store = open_store(Settings.load(data_dir=tmp_path / "data", database_url=env[
        "TEXTLOOP_DATABASE_URL"]))  # fmt: skip
    with store.session() as session:
        sources = list(
            session.scalars(select(AuditEntry.source).where(AuditEntry.action.like("POST %")))
        )
    store.dispose()
    return sources


@pytest.mark.parametrize(
    ("extra", "recorded"),
    [({}, "127.0.0.1"), ({"TEXTLOOP_FORWARDED_ALLOW_IPS": "127.0.0.1"}, "203.0.113.9")],
)
def test_x_forwarded_for_is_believed_only_from_a_named_proxy(
    tmp_path: Path, extra: dict[str, str], recorded: str
) -> None:
    assert rollback_sources(tmp_path, **extra) == [recorded]


def test_the_proxies_come_from_the_environment_or_the_toml_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEXTLOOP_FORWARDED_ALLOW_IPS", raising=False)
    (tmp_path / "textloop.toml").write_text('forwarded_allow_ips = ["10.0.0.2", "10.0.0.3"]\n')
    assert Settings.load(data_dir=tmp_path).forwarded_allow_ips == ("10.0.0.2", "10.0.0.3")
    monkeypatch.setenv("TEXTLOOP_FORWARDED_ALLOW_IPS", "127.0.0.1")
    assert Settings.load(data_dir=tmp_path).forwarded_allow_ips == ("127.0.0.1",)
