"""Input limits: every body is bounded, typed and decoded before a route trusts it, and an upload
sent twice with an ``Idempotency-Key`` is stored once.

Each refusal has the one error shape, and changes nothing. The last tests run the real server:
a 200 MB upload is refused without the server holding it in memory.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, update
from sqlalchemy import select as select_rows

from tests.processes import environment, run_cli, running_server, server_pids
from textloop.config import Settings
from textloop.security.api_keys import create_api_key
from textloop.serving.app import create_app
from textloop.serving.idempotency import RUNNING
from textloop.store import Store
from textloop.store.tables import (
    DatasetVersion,
    Example,
    Execution,
    Feedback,
    IdempotentRequest,
    PoolText,
    ReviewTask,
)

MAX_BODY = 2_000
MAX_UPLOAD = 20_000
MAX_ROWS = 6
UPLOAD = "/v1/classifiers/news/datasets"
CSV = {"content-type": "text/csv"}
JSON = {"content-type": "application/json"}
ROWS = b"text,label\nrain all day,weather\nthe striker scored,sport\nshares fell,finance\n"


@pytest.fixture
def limited(store: Store, settings: Settings) -> Iterator[TestClient]:
    """The app with small limits, so that tests stay small too."""
    small = replace(
        settings, max_body_bytes=MAX_BODY, max_upload_bytes=MAX_UPLOAD, max_upload_rows=MAX_ROWS
    )
    with TestClient(create_app(small), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def admin(store: Store) -> dict[str, str]:
    with store.session() as session:
        return {"x-api-key": create_api_key(session, ["admin"]).key}


def count(store: Store, table: type) -> int:
    with store.session() as session:
        return session.scalar(select_rows(func.count()).select_from(table)) or 0


def nothing_written(store: Store) -> bool:
    tables = (DatasetVersion, Example, Execution, Feedback, ReviewTask, PoolText, IdempotentRequest)
    return all(count(store, table) == 0 for table in tables)


def refused(response, status: int, code: str, *fragments: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    for fragment in fragments:
        assert fragment in body["error"]["message"]
    return body["error"]


class Unread:
    """A body that notes whether anyone read it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.read = False

    def __iter__(self) -> Iterator[bytes]:
        self.read = True
        yield b"x" * self.size


# Size ---------------------------------------------------------------------------------------


def test_a_json_body_declared_too_large_is_413_before_a_byte_is_read(
    limited: TestClient, admin: dict[str, str], store: Store
) -> None:
    body = Unread(MAX_BODY + 1)
    response = limited.post(
        "/v1/classifiers/news/pool",
        content=body,
        headers={**admin, **JSON, "content-length": str(MAX_BODY + 1)},
    )
    error = refused(response, 413, "too_large", f"larger than {MAX_BODY:,} bytes")
    assert error["field"] == "body" and "max_body_bytes" in error["message"]
    assert not body.read
    response = limited.post(
        "/v1/classifiers/news/feedback",
        content=b'{"text": "' + b"x" * MAX_BODY + b'"}',
        headers={**admin, **JSON},
    )
    refused(response, 413, "too_large", f"larger than {MAX_BODY:,} bytes (max_body_bytes)")
    assert nothing_written(store)


def test_a_chunked_body_is_counted_and_refused_once_over_the_limit(
    limited: TestClient, admin: dict[str, str], store: Store, settings: Settings
) -> None:
    def chunks(total: int, text: bool = False) -> Iterator[bytes]:
        if text:
            yield b"text,label\n"
        for _ in range(total // 1000):
            yield b"x" * 998 + b",a\n" if text else b" " * 1000

    response = limited.post(
        UPLOAD, content=chunks(MAX_UPLOAD + 1000, text=True), headers={**admin, **CSV}
    )
    refused(response, 413, "too_large", "max_upload_bytes")
    response = limited.post(
        "/v1/classifiers/news/feedback", content=chunks(MAX_BODY + 1000), headers={**admin, **JSON}
    )
    refused(response, 413, "too_large", "max_body_bytes")
    assert nothing_written(store)
    assert not list((settings.data_dir / "tmp").glob("*"))  # the spooled upload is gone


def test_a_portal_form_over_its_limit_is_a_413_page(limited: TestClient) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    response = limited.post("/login", content=b"email=" + b"a" * 70_000, headers=form)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "larger than 65,536 bytes" in response.text


# Type and encoding --------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_json_route_refuses_another_content_type_with_415(
    limited: TestClient, admin: dict[str, str], store: Store, content_type: str | None
) -> None:
    headers = {**admin, "content-type": content_type} if content_type else admin
    response = limited.post(
        "/v1/classifiers/news/pool", content=b'{"texts": ["hi"]}', headers=headers
    )
    error = refused(response, 415, "unsupported_media_type", "must be application/json")
    assert error["field"] == "content-type"
    assert nothing_written(store)


def test_a_json_write_without_a_body_needs_no_content_type(
    limited: TestClient, admin: dict[str, str]
) -> None:
    response = limited.post("/v1/classifiers/news/retrain", headers=admin)
    refused(response, 404, "not_found", "classifier 'news' does not exist")


def test_an_upload_in_an_unknown_content_type_is_415_naming_the_known_ones(
    limited: TestClient, admin: dict[str, str], store: Store
) -> None:
    response = limited.post(UPLOAD, content=ROWS, headers={**admin, "content-type": "text/xml"})
    refused(response, 415, "unsupported_media_type", "text/csv", "application/x-ndjson")
    assert nothing_written(store)


def test_json_that_is_not_utf8_is_400(
    limited: TestClient, admin: dict[str, str], store: Store
) -> None:
    response = limited.post(
        "/v1/classifiers/news/pool",
        content='{"texts": ["café"]}'.encode("latin-1"),
        headers={**admin, **JSON},
    )
    refused(response, 400, "malformed_json", "line 1: invalid UTF-8 (byte 0xe9 at column 16)")
    assert nothing_written(store)


@pytest.mark.parametrize("block", [None, 1, 7])
def test_an_upload_that_is_not_utf8_is_422_naming_the_line(
    limited: TestClient, admin: dict[str, str], store: Store, block: int | None
) -> None:
    data = "text,label\nhello,greeting\nsnow €,weather\n".encode() + b"caf\xe9,food\n"
    content = data if block is None else (data[i : i + block] for i in range(0, len(data), block))
    response = limited.post(UPLOAD, content=content, headers={**admin, **CSV})
    refused(
        response,
        422,
        "invalid_data",
        "upload: line 4: invalid UTF-8 (byte 0xe9 at column 4); save the file as UTF-8",
    )
    assert nothing_written(store)


def test_the_cli_names_the_same_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"text,label\nhello,greeting\nab\xff\xfe,weather\n")
    env = environment(tmp_path / "data", f"sqlite:///{tmp_path / 'textloop.db'}")
    result = run_cli(env, "ingest", str(bad), "--classifier", "news")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert f"{bad}: line 3: invalid UTF-8 (byte 0xff at column 3)" in result.stderr


# Rows ---------------------------------------------------------------------------------------


def test_an_upload_over_max_upload_rows_is_refused_naming_the_limit(
    limited: TestClient, admin: dict[str, str], store: Store
) -> None:
    rows = b"text,label\n" + b"".join(b"text %d,a\n" % i for i in range(MAX_ROWS + 1))
    response = limited.post(UPLOAD, content=rows, headers={**admin, **CSV})
    refused(response, 413, "too_large", f"{MAX_ROWS + 1} rows", f"{MAX_ROWS} (max_upload_rows)")
    texts = [f"text {i}" for i in range(MAX_ROWS + 1)]
    response = limited.post("/v1/classifiers/news/pool", json={"texts": texts}, headers=admin)
    refused(response, 413, "too_large", "max_upload_rows")
    assert nothing_written(store)


# Sending a file twice -----------------------------------------------------------------------


def test_a_resent_file_maps_to_the_version_it_made_and_stores_no_row_twice(
    limited: TestClient, admin: dict[str, str], store: Store
) -> None:
    first = limited.post(UPLOAD, content=ROWS, headers={**admin, **CSV})
    assert first.status_code == 201, first.text
    again = limited.post(UPLOAD, content=ROWS, headers={**admin, **CSV})
    assert again.status_code == 201
    assert (first.json()["created"], again.json()["created"]) == (True, False)
    assert again.json()["version"] == first.json()["version"] == 1
    assert count(store, DatasetVersion) == 1
    assert count(store, Example) == 3


def test_rows_repeated_within_one_file_are_stored_once(
    limited: TestClient, admin: dict[str, str], store: Store
) -> None:
    repeated = ROWS + b"rain all day,weather\n  rain   all day ,weather\nrain all day,sport\n"
    response = limited.post(UPLOAD, content=repeated, headers={**admin, **CSV})
    assert response.status_code == 201, response.text
    assert (response.json()["rows"], response.json()["duplicates"]) == (4, 2)
    assert count(store, Example) == 4  # the same text with another label is a row of its own
    distinct = limited.post(
        UPLOAD, content=ROWS + b"rain all day,sport\n", headers={**admin, **CSV}
    )
    assert distinct.json()["created"] is False  # the same content, without the repeats


def test_an_idempotent_upload_sent_again_is_answered_from_the_first(
    limited: TestClient, admin: dict[str, str], store: Store
) -> None:
    headers = {**admin, **CSV, "Idempotency-Key": "upload-2026-01-17 #1"}
    first = limited.post(UPLOAD, content=ROWS, headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    runs = count(store, Execution)
    again = limited.post(UPLOAD, content=ROWS, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json() and again.json()["created"] is True
    assert again.headers["idempotent-replayed"] == "true"
    assert count(store, Execution) == runs  # not ingested again
    assert count(store, DatasetVersion) == 1


def test_a_key_used_again_for_another_request_is_422(
    limited: TestClient, admin: dict[str, str], store: Store
) -> None:
    headers = {**admin, **CSV, "Idempotency-Key": "k1"}
    assert limited.post(UPLOAD, content=ROWS, headers=headers).status_code == 201
    other_file = limited.post(UPLOAD, content=ROWS + b"snow,weather\n", headers=headers)
    refused(other_file, 422, "idempotency_key_reused", "'k1' was used for another request")
    other_query = limited.post(UPLOAD + "?label_column=text", content=ROWS, headers=headers)
    refused(other_query, 422, "idempotency_key_reused")
    assert count(store, DatasetVersion) == 1


def test_another_api_key_has_keys_of_its_own(
    limited: TestClient, admin: dict[str, str], store: Store
) -> None:
    with store.session() as session:
        other = {"x-api-key": create_api_key(session, ["admin"]).key}
    for key in (admin, other):
        response = limited.post(
            UPLOAD, content=ROWS, headers={**key, **CSV, "Idempotency-Key": "k"}
        )
        assert response.status_code == 201 and "idempotent-replayed" not in response.headers


@pytest.mark.parametrize("key", ["", "x" * 201, "tab\there"])
def test_an_idempotency_key_must_be_1_to_200_printable_ascii_characters(
    limited: TestClient, admin: dict[str, str], store: Store, key: str
) -> None:
    response = limited.post(UPLOAD, content=ROWS, headers={**admin, **CSV, "Idempotency-Key": key})
    error = refused(response, 422, "invalid_request", "1 to 200 printable ASCII")
    assert error["field"] == "idempotency-key"
    assert nothing_written(store)


def test_a_refused_upload_releases_its_key(
    limited: TestClient, admin: dict[str, str], store: Store
) -> None:
    headers = {**admin, **CSV, "Idempotency-Key": "retry-me"}
    empty = limited.post(UPLOAD, content=b"text,label\n,\n", headers=headers)
    refused(empty, 422, "invalid_data", "no rows with both a text and a label")
    assert count(store, IdempotentRequest) == 0
    fixed = limited.post(UPLOAD, content=ROWS, headers=headers)
    assert fixed.status_code == 201 and "idempotent-replayed" not in fixed.headers


def test_a_resend_while_the_first_still_runs_is_409(
    limited: TestClient, admin: dict[str, str], store: Store
) -> None:
    headers = {**admin, **CSV, "Idempotency-Key": "busy"}
    assert limited.post(UPLOAD, content=ROWS, headers=headers).status_code == 201
    with store.session() as session:  # back to how the first request left it while it ran
        session.execute(update(IdempotentRequest).values(status=RUNNING, response={}))
    busy = limited.post(UPLOAD, content=ROWS, headers=headers)
    refused(busy, 409, "idempotency_key_in_use", "still running")
    other = limited.post(UPLOAD, content=ROWS + b"snow,weather\n", headers=headers)
    refused(other, 422, "idempotency_key_reused")
    assert count(store, DatasetVersion) == 1


def test_concurrent_duplicates_ingest_once(
    limited: TestClient, admin: dict[str, str], store: Store
) -> None:
    headers = {**admin, **CSV, "Idempotency-Key": "together"}
    answers: list = []

    def send() -> None:
        answers.append(limited.post(UPLOAD, content=ROWS, headers=headers))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {201, 409} and statuses[0] == 201
    fresh = [a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers]
    assert len(fresh) == 1
    assert count(store, DatasetVersion) == 1
    with store.session() as session:
        ingests = session.scalar(
            select_rows(func.count()).select_from(Execution).where(Execution.component == "ingest")
        )
    assert ingests == 1


# The real server ----------------------------------------------------------------------------

UPLOAD_SIZE = 200_000_000
MB = 1_000_000


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int, str, Path]]:
    """A ``textloop serve`` process with the default limits: (port, pid, admin key, data dir)."""
    # What a process holds in memory does not depend on the database: SQLite only.
    root = tmp_path_factory.mktemp("server")
    env = environment(root / "data", f"sqlite:///{root / 'textloop.db'}")
    init = run_cli(env, "init", "--json")
    assert init.returncode == 0, init.stderr
    log = root / "server.log"
    with running_server(env, log) as base:
        (pid,) = server_pids(log)
        yield int(base.rsplit(":", 1)[1]), pid, json.loads(init.stdout)["api_key"], root / "data"


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


def send_upload(port: int, key: str, chunked: bool) -> tuple[int, dict, int]:
    """POST ``UPLOAD_SIZE`` bytes of CSV a megabyte at a time, stopping as soon as the server
    answers; returns the status, the body and the bytes sent."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {UPLOAD_SIZE}"
    head = (
        f"POST {UPLOAD} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {key}\r\n"
        f"Content-Type: text/csv\r\n{framing}\r\n\r\n"
    )
    block = b"text,label\n" + b"a long enough line of text,weather\n" * 29_959
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(head.encode())
        sent = 0
        try:
            while sent < UPLOAD_SIZE and not select.select([sock], [], [], 0)[0]:
                piece = block[: UPLOAD_SIZE - sent]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            if chunked and sent == UPLOAD_SIZE:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed; its answer is still there to read
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, json.loads(response.read()), sent


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_200_mb_upload_is_refused_without_the_server_holding_it(
    real_server: tuple[int, int, str, Path], chunked: bool
) -> None:
    port, pid, key, data_dir = real_server
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak (VmHWM) starts again from here
    before = memory_kb(pid, "VmRSS")
    status, body, sent = send_upload(port, key, chunked)
    peak, after = memory_kb(pid, "VmHWM"), memory_kb(pid, "VmRSS")
    print(
        f"{'chunked' if chunked else 'declared'}: {sent / MB:.0f} MB sent before the answer; "
        f"server RSS {before / 1000:.0f} MB before, peak {peak / 1000:.0f} MB, "
        f"{after / 1000:.0f} MB after"
    )
    assert status == 413, body
    assert body["error"]["code"] == "too_large" and "max_upload_bytes" in body["error"]["message"]
    assert (peak - before) * 1000 < 50 * MB
    assert (after - before) * 1000 < 50 * MB
    if not chunked:
        assert sent < UPLOAD_SIZE  # answered from the Content-Length, long before the end
    assert not list((data_dir / "tmp").glob("*"))


def test_no_body_is_read_from_a_caller_without_a_valid_key(
    limited: TestClient, store: Store
) -> None:
    for headers in ({}, {"x-api-key": "tl_not-a-key"}):
        body = Unread(1000)
        response = limited.post(
            "/v1/classifiers/news/pool",
            content=body,
            headers={**headers, **JSON, "content-length": "1000"},
        )
        refused(response, 401, "unauthorized", "API key")
        assert not body.read
    assert nothing_written(store)
