"""``textloop serve`` over HTTPS: a certificate and its key, or a clear refusal, and HSTS on
every answer. SQLite only: TLS does not depend on the database."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.processes import environment, run_cli, running_server, trusting
from textloop.errors import ConfigError
from textloop.serving.server import Tls

OPENSSL = "/usr/bin/openssl"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its unencrypted key, made by ``openssl``."""
    certificate, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(certificate),
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return certificate, key


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return environment(tmp_path / "data", f"sqlite:///{tmp_path / 'textloop.db'}")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_server_answers_over_https_with_hsts(
    env: dict[str, str], tmp_path: Path, workers: str
) -> None:
    certificate, key = self_signed(tmp_path)
    log = tmp_path / "server.log"
    with running_server(env, log, "--workers", workers, tls=(certificate, key)) as base:
        assert base.startswith("https://")
        health = httpx.get(f"{base}/healthz", verify=trusting(certificate), timeout=30)
        assert health.status_code == 200
        assert health.headers["strict-transport-security"].startswith("max-age=")
        login = httpx.get(f"{base}/login", verify=trusting(certificate), timeout=30)
        assert login.headers["strict-transport-security"].startswith("max-age=")
        assert "script-src 'self'" in login.headers["content-security-policy"]
        assert login.headers["cache-control"] == "no-store"
        with pytest.raises(httpx.ConnectError):  # a client that does not trust it is refused
            httpx.get(f"{base}/healthz", timeout=30)
    assert "textloop serving on https://" in log.read_text()


def test_plain_http_sends_no_hsts(env: dict[str, str], tmp_path: Path) -> None:
    with running_server(env, tmp_path / "server.log") as base:
        health = httpx.get(f"{base}/healthz", timeout=30)
    assert "strict-transport-security" not in health.headers


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (("CERT", None), "give both --ssl-certfile and --ssl-keyfile, or neither"),
        ((None, "KEY"), "give both --ssl-certfile and --ssl-keyfile, or neither"),
        (("CERT", "MISSING"), "--ssl-keyfile"),
        (("KEY", "KEY"), "cannot use"),  # not a certificate
    ],
)
def test_unusable_tls_options_are_refused_before_serving(
    tmp_path: Path, given: tuple[str | None, str | None], message: str
) -> None:
    certificate, key = self_signed(tmp_path)
    paths = {"CERT": certificate, "KEY": key, "MISSING": tmp_path / "nope.pem"}
    certfile, keyfile = (paths[part] if part else None for part in given)
    with pytest.raises(ConfigError, match=message):
        Tls.from_options(certfile, keyfile)


def test_the_command_says_so_in_one_line(env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli(env, "serve", "--ssl-certfile", str(tmp_path / "nope.pem"))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "give both --ssl-certfile and --ssl-keyfile, or neither" in result.stderr
