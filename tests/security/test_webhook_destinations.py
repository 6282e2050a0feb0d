"""Webhooks cannot be pointed inside the network (finding 3 of the outside probe).

A webhook reaches public addresses only, unless ``webhook_allowed_hosts`` names its host; the
address is checked when the webhook is added and again before each delivery, which connects to
the checked address and follows no redirect; the delivery log says "could not connect" whether a
port is closed or open to something else; webhooks can be disabled, enabled and deleted over the
API, the CLI and the portal, by keys that may manage their classifiers; and the audit log keeps
each webhook's URL without its credentials.

Nothing here connects anywhere but loopback: the address classes are judged on IP literals, names
are resolved by a fake resolver, and the only receivers listen on 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from ipaddress import ip_address
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.processes import environment, run_cli
from tests.serving.portal import PASSWORD, sign_in
from tests.webhook_receiver import Receiver
from textloop.config import Settings
from textloop.notifications.destinations import (
    Address,
    Destinations,
    RefusedDestination,
    Resolver,
    refusal,
    without_credentials,
)
from textloop.notifications.events import emit
from textloop.notifications.webhooks import Deliverer, add_webhook
from textloop.security.accounts import create_user
from textloop.security.api_keys import create_api_key
from textloop.serving.app import create_app
from textloop.store import Store
from textloop.store.queries import get_or_create_classifier
from textloop.store.tables import AuditEntry, DeliveryStatus, Webhook, WebhookDelivery

DELIVERED, PENDING = DeliveryStatus.DELIVERED, DeliveryStatus.PENDING


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite alone: what these check does not depend on the database, and CI stays short."""
    return f"sqlite:///{tmp_path / 'textloop.db'}"


SECRET = "a-secret-of-some-length"
COULD_NOT_CONNECT = "could not connect to the receiver"
PUBLIC = ip_address("93.184.216.34")


# The address classifier, on IP literals: nothing is resolved, nothing is contacted.


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "reserved"),  # shared address space (carrier-grade NAT)
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
    ],
)
def test_every_non_public_address_class_is_refused(address: str, kind: str) -> None:
    assert refusal(ip_address(address)) == kind


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ip_address(address)) is None


def resolving(table: dict[str, list[str]]) -> Resolver:
    """A fake resolver answering from ``table``: no DNS is asked."""

    def resolve(host: str, port: int) -> list[Address]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ip_address(a) for a in table[host]]

    return resolve


def test_a_name_is_refused_when_any_address_it_resolves_to_is_not_public() -> None:
    split = Destinations(resolver=resolving({"hooks.example": [str(PUBLIC), "10.1.2.3"]}))
    with pytest.raises(RefusedDestination, match="does not resolve to public addresses only"):
        split.check("https://hooks.example/in")
    with pytest.raises(RefusedDestination, match="does not resolve"):
        split.check("https://nowhere.example/in")
    public = Destinations(resolver=resolving({"hooks.example": [str(PUBLIC)]}))
    checked = public.check("https://hooks.example:8443/in?x=1")
    assert (checked.host, checked.port, checked.target) == ("hooks.example", 8443, "/in?x=1")
    assert checked.addresses == (PUBLIC,)


def test_an_allowed_host_is_named_exactly_and_the_rest_stay_refused() -> None:
    policy = Destinations(
        ["Hooks.Internal", "[::1]"], resolver=resolving({"hooks.internal": ["10.0.0.7"]})
    )
    assert policy.check("http://hooks.internal/x").addresses == (ip_address("10.0.0.7"),)
    assert policy.check("http://[::1]:8080/x").addresses == (ip_address("::1"),)
    with pytest.raises(RefusedDestination, match=r"127\.0\.0\.1 is a loopback address"):
        policy.check("http://127.0.0.1/x")


def test_the_setting_comes_from_the_environment_or_the_toml_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEXTLOOP_WEBHOOK_ALLOWED_HOSTS", raising=False)
    assert Settings.load(data_dir=tmp_path).webhook_allowed_hosts == ()
    (tmp_path / "textloop.toml").write_text('webhook_allowed_hosts = ["hooks.internal", "::1"]\n')
    assert Settings.load(data_dir=tmp_path).webhook_allowed_hosts == ("hooks.internal", "::1")
    monkeypatch.setenv("TEXTLOOP_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1, hooks.lan")
    loaded = Settings.load(data_dir=tmp_path)
    assert loaded.webhook_allowed_hosts == ("127.0.0.1", "hooks.lan")
    assert loaded.environment()["TEXTLOOP_WEBHOOK_ALLOWED_HOSTS"] == "127.0.0.1,hooks.lan"


def test_credentials_are_taken_out_of_a_url_before_it_is_shown() -> None:
    assert without_credentials("https://ops:s3cret@hooks.example/x?y=1") == (
        "https://hooks.example/x?y=1"
    )
    assert without_credentials("http://127.0.0.1:9/hook") == "http://127.0.0.1:9/hook"


# Over the API, with the real resolver on loopback names and literals only.


@dataclass
class Service:
    client: TestClient
    store: Store
    settings: Settings
    headers: dict[str, dict[str, str]]

    def webhooks(self) -> list[Webhook]:
        with self.store.session() as session:
            return list(session.scalars(select(Webhook).order_by(Webhook.id)))

    def deliveries(self) -> list[WebhookDelivery]:
        with self.store.session() as session:
            return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))

    def deliver(self) -> None:
        Deliverer(self.store, Destinations(self.settings.webhook_allowed_hosts)).deliver_due()

    def audit(self) -> list[AuditEntry]:
        with self.store.session() as session:
            return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def serve(store: Store, settings: Settings) -> Iterator[Service]:
    with store.session() as session:
        for name in ("topics", "other"):
            get_or_create_classifier(session, name)
        create_user(session, "admin@example.com", PASSWORD, "admin")
        keys = {
            "admin": create_api_key(session, ["admin"]).key,
            "topics": create_api_key(session, ["admin"], ["topics"]).key,
        }
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        headers = {name: {"x-api-key": key} for name, key in keys.items()}
        yield Service(client, store, settings, headers)


@pytest.fixture
def strict(store: Store, settings: Settings) -> Iterator[Service]:
    """The default settings: no host allowed beyond the public ones."""
    yield from serve(store, settings)


@pytest.fixture
def loopback(store: Store, settings: Settings) -> Iterator[Service]:
    """``webhook_allowed_hosts`` names 127.0.0.1, where the test receivers listen."""
    yield from serve(store, replace(settings, webhook_allowed_hosts=("127.0.0.1",)))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver.running() as receiver:
        yield receiver


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/",
        "http://[::1]/hook",
        "http://0.0.0.0:8080/hook",
        "http://localhost:22/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/hook",
        "http://2130706433/hook",  # 127.0.0.1 as one number
        "http://[::ffff:127.0.0.1]:5432/",
    ],
)
def test_an_admin_key_cannot_point_a_webhook_inside_the_network(strict: Service, url: str) -> None:
    for key in ("admin", "topics"):
        body = {"url": url, "secret": SECRET, "classifier": "topics"}
        answer = strict.client.post("/v1/webhooks", json=body, headers=strict.headers[key])
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["field"] == "url" and "webhook_allowed_hosts" in error["message"]
    assert strict.webhooks() == []


def test_the_cli_refuses_the_same_in_one_line(tmp_path: Path, database_url: str) -> None:
    env = environment(tmp_path / "data", database_url)
    added = run_cli(env, "webhooks", "add", "http://127.0.0.1:5432/", "--secret-stdin",
                    stdin=SECRET + "\n")  # fmt: skip
    assert added.returncode == 1 and added.stdout == ""
    assert "127.0.0.1 is a loopback address" in added.stderr
    assert added.stderr.strip().count("\n") == 0


def test_an_allowed_loopback_host_gets_its_events(loopback: Service, receiver: Receiver) -> None:
    body = {"url": receiver.url, "secret": SECRET, "classifier": "topics"}
    created = loopback.client.post("/v1/webhooks", json=body, headers=loopback.headers["topics"])
    assert created.status_code == 201, created.text
    assert created.json()["active"] is True
    emit(loopback.store, loopback.webhooks()[0].classifier_id, "run.started", classifier="topics")
    loopback.deliver()
    assert [event["type"] for event in receiver.events(SECRET)] == ["run.started"]
    assert [d.status for d in loopback.deliveries()] == [DELIVERED]


def test_the_address_is_checked_again_at_delivery(store: Store, receiver: Receiver) -> None:
    """What a name resolves to can change after the webhook was added: the delivery goes nowhere
    once it resolves to loopback (as here), and goes to the checked address otherwise."""
    port = int(receiver.url.split(":")[2].split("/")[0])
    with store.session() as session:
        topics = get_or_create_classifier(session, "topics").id
        at_first = Destinations(resolver=resolving({"hooks.example": [str(PUBLIC)]}))
        add_webhook(session, f"http://hooks.example:{port}/hook", SECRET, destinations=at_first)
    emit(store, topics, "run.started", classifier="topics")
    now_loopback = Destinations(resolver=resolving({"hooks.example": ["127.0.0.1"]}))
    Deliverer(store, now_loopback).deliver_due()
    assert receiver.requests == []
    with store.session() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert delivery.status == PENDING and delivery.error.startswith("refused: ")

    # allowed by name, it is reached at the address checked, not looked up again
    allowed = Destinations(["hooks.example"], resolver=resolving({"hooks.example": ["127.0.0.1"]}))
    with store.session() as session:
        session.scalars(select(WebhookDelivery)).one().next_attempt_at = delivery.created_at
    Deliverer(store, allowed).deliver_due()
    ((headers, _),) = receiver.received
    assert headers["Host"] == f"hooks.example:{port}"


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_and_counts_as_a_failure(loopback: Service, code: int) -> None:
    with Receiver.running() as first, Receiver.running() as elsewhere:
        first.answers, first.location = [code], elsewhere.url
        with loopback.store.session() as session:
            policy = Destinations(loopback.settings.webhook_allowed_hosts)
            hook = add_webhook(session, first.url, SECRET, "topics", destinations=policy)
            topics = hook.classifier_id
        emit(loopback.store, topics, "run.started", classifier="topics")
        loopback.deliver()
        assert first.requests == ["POST /hook"]
        assert elsewhere.requests == []  # neither the body nor the signature went on
    (delivery,) = loopback.deliveries()
    assert (delivery.status, delivery.response_status) == (PENDING, code)
    assert "redirects are not followed" in delivery.error


@pytest.fixture
def not_http() -> Iterator[int]:
    """A loopback port open to something that is not HTTP (an SSH-like banner, then close)."""

    class Banner(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Banner)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_delivery_log_does_not_tell_open_ports_from_closed_ones(
    loopback: Service, not_http: int
) -> None:
    with loopback.store.session() as session:
        policy = Destinations(loopback.settings.webhook_allowed_hosts)
        for port in (closed_port(), not_http):
            add_webhook(session, f"http://127.0.0.1:{port}/", SECRET, destinations=policy)
        topics = get_or_create_classifier(session, "topics").id
    emit(loopback.store, topics, "run.started", classifier="topics")
    loopback.deliver()
    log = loopback.client.get("/v1/webhooks/deliveries", headers=loopback.headers["admin"])
    answers = {(d["response_status"], d["error"]) for d in log.json()["deliveries"]}
    assert len(log.json()["deliveries"]) == 2
    assert answers == {(None, COULD_NOT_CONNECT)}


def test_disable_enable_and_delete_over_the_api_are_audited_without_credentials(
    loopback: Service, receiver: Receiver
) -> None:
    url = receiver.url.replace("http://", "http://ops:s3cret@")
    body = {"url": url, "secret": SECRET, "classifier": "topics"}
    admin = loopback.headers["admin"]
    hook = loopback.client.post("/v1/webhooks", json=body, headers=admin).json()
    topics = loopback.webhooks()[0].classifier_id

    emit(loopback.store, topics, "run.started", classifier="topics")  # queued, not yet sent
    disabled = loopback.client.post(f"/v1/webhooks/{hook['id']}/disable", headers=admin)
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    emit(loopback.store, topics, "run.failed", classifier="topics")  # not queued at all
    loopback.deliver()
    assert receiver.received == []  # nothing goes to a disabled webhook

    enabled = loopback.client.post(f"/v1/webhooks/{hook['id']}/enable", headers=admin)
    assert enabled.status_code == 200 and enabled.json()["active"] is True
    loopback.deliver()  # what was queued before it was disabled goes now
    assert [event["type"] for event in receiver.events(SECRET)] == ["run.started"]
    ((headers, _),) = receiver.received
    assert headers["Authorization"] == "Basic b3BzOnMzY3JldA=="  # the URL's user and password

    deleted = loopback.client.delete(f"/v1/webhooks/{hook['id']}", headers=admin)
    assert deleted.status_code == 204
    assert loopback.webhooks() == [] and loopback.deliveries() == []
    gone = loopback.client.post(f"/v1/webhooks/{hook['id']}/enable", headers=admin)
    assert gone.status_code == 404

    entries = [e for e in loopback.audit() if "webhooks" in e.action]
    assert [(e.action, e.target, e.status) for e in entries] == [
        ("POST /v1/webhooks", f"webhook {hook['id']}", 201),
        ("POST /v1/webhooks/{webhook_id}/disable", f"webhook {hook['id']}", 200),
        ("POST /v1/webhooks/{webhook_id}/enable", f"webhook {hook['id']}", 200),
        ("DELETE /v1/webhooks/{webhook_id}", f"webhook {hook['id']}", 204),
        ("POST /v1/webhooks/{webhook_id}/enable", f"webhook {hook['id']}", 404),
    ]
    for entry in entries[:4]:
        assert entry.details["url"] == receiver.url
    assert "s3cret" not in json.dumps([e.details for e in loopback.audit()])


def test_a_key_limited_to_some_classifiers_manages_only_their_webhooks(
    loopback: Service, receiver: Receiver
) -> None:
    admin, limited = loopback.headers["admin"], loopback.headers["topics"]
    ids = {}
    for classifier in ("topics", "other", None):
        body = {"url": receiver.url, "secret": SECRET, "classifier": classifier}
        ids[classifier] = loopback.client.post("/v1/webhooks", json=body, headers=admin).json()[
            "id"
        ]
    body = {"url": receiver.url, "secret": SECRET, "classifier": "other"}
    assert loopback.client.post("/v1/webhooks", json=body, headers=limited).status_code == 403
    for classifier in ("other", None):
        for path in (f"/v1/webhooks/{ids[classifier]}/disable", f"/v1/webhooks/{ids[classifier]}"):
            method = "POST" if path.endswith("disable") else "DELETE"
            answer = loopback.client.request(method, path, headers=limited)
            assert answer.status_code == 403, (classifier, path)
    own = loopback.client.post(f"/v1/webhooks/{ids['topics']}/disable", headers=limited)
    assert own.status_code == 200
    assert [w.active for w in loopback.webhooks()] == [False, True, True]


def test_the_portal_disables_enables_and_deletes_a_webhook(
    loopback: Service, receiver: Receiver
) -> None:
    url = receiver.url.replace("http://", "http://ops:s3cret@")
    body = {"url": url, "secret": SECRET}
    hook = loopback.client.post("/v1/webhooks", json=body, headers=loopback.headers["admin"])
    number = hook.json()["id"]
    token = sign_in(loopback.client, "admin@example.com")
    page = loopback.client.get("/admin/events").text
    assert receiver.url in page and "s3cret" not in page
    assert f'action="/admin/webhooks/{number}/disable"' in page
    for action, active in (("disable", [False]), ("enable", [True]), ("delete", [])):
        done = loopback.client.post(
            f"/admin/webhooks/{number}/{action}", data={"csrf_token": token}
        )
        assert done.status_code == 200, done.text
        assert [w.active for w in loopback.webhooks()] == active
    entries = [e for e in loopback.audit() if e.action.startswith("POST /admin/webhooks")]
    assert [e.target for e in entries] == [f"webhook {number}"] * 3
    assert {e.details["url"] for e in entries} == {receiver.url}


def test_disable_enable_and_delete_with_the_cli(
    tmp_path: Path, database_url: str, store: Store
) -> None:
    env = environment(tmp_path / "data", database_url)
    env["TEXTLOOP_WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1"
    url = "http://ops:s3cret@127.0.0.1:9/hook"
    added = run_cli(env, "webhooks", "add", url, "--secret-stdin", "--json", stdin=SECRET + "\n")
    assert added.returncode == 0, added.stderr
    number = json.loads(added.stdout)["id"]

    def active() -> list[bool]:
        with store.session() as session:
            return list(session.scalars(select(Webhook.active)))

    for command, expected in (("disable", [False]), ("enable", [True]), ("delete", [])):
        done = run_cli(env, "webhooks", command, str(number), "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["url"] == "http://127.0.0.1:9/hook"
        assert active() == expected
    missing = run_cli(env, "webhooks", "disable", str(number))
    assert missing.returncode == 1 and f"webhook {number} does not exist" in missing.stderr

    audit = json.loads(run_cli(env, "audit", "--json").stdout)
    changes = [(e["action"], e["target"], e["details"]["url"]) for e in reversed(audit)]
    assert changes == [
        (f"textloop webhooks {command}", f"webhook {number}", "http://127.0.0.1:9/hook")
        for command in ("add", "disable", "enable", "delete")
    ]
    assert "s3cret" not in json.dumps(audit)
