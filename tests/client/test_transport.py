"""When the client sends a request again, and when it must not: on a fake network
(``httpx.MockTransport``), so that each failure can be made to happen exactly once."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from textloop.client import (
    ApiError,
    AsyncClient,
    Client,
    InvalidRequestError,
    RateLimitError,
    Retry,
    RetryPolicy,
    ServerError,
    TransportError,
)
from textloop.client.errors import retry_after_seconds

QUICK = RetryPolicy(max_attempts=3, backoff=0.001, max_backoff=0.002)
PREDICTION = {
    "label": "sport",
    "confidence": 0.9,
    "scores": {"sport": 0.9},
    "model_version": 1,
    "prediction_id": "p1",
    "review": False,
}
Handler = Callable[[httpx.Request], httpx.Response]


class FailingFirst:
    """A network that fails the first request with ``error`` and answers ``then`` after;
    ``seen`` holds every request that reached it."""

    def __init__(self, error: type[httpx.TransportError], then: httpx.Response) -> None:
        self.error = error
        self.then = then
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if len(self.seen) == 1:
            raise self.error("the network failed", request=request)
        return self.then


def client(handler: Handler, retries: list[Retry] | None = None) -> Client:
    on_retry = retries.append if retries is not None else None
    return Client(
        "http://textloop.test",
        "tl_key",
        retry=QUICK,
        on_retry=on_retry,
        transport=httpx.MockTransport(handler),
    )


def test_a_read_after_a_broken_connection_is_sent_again() -> None:
    handler = FailingFirst(httpx.ReadError, httpx.Response(200, json=[]))
    retries: list[Retry] = []
    with client(handler, retries) as api:
        assert api.classifiers.list() == []
    assert len(handler.seen) == 2
    (retry,) = retries
    assert retry.request == "GET http://textloop.test/v1/classifiers"
    assert (retry.attempt, retry.status, retry.error) == (1, None, "ReadError: the network failed")


def test_a_post_that_may_have_reached_the_server_is_not_sent_again() -> None:
    handler = FailingFirst(httpx.ReadError, httpx.Response(200, json=PREDICTION))
    with client(handler) as api, pytest.raises(TransportError, match="ReadError"):
        api.classify("topics", "a text")
    assert len(handler.seen) == 1


def test_a_post_that_never_left_is_sent_again() -> None:
    handler = FailingFirst(httpx.ConnectError, httpx.Response(200, json=PREDICTION))
    with client(handler) as api:
        assert api.classify("topics", "a text")["label"] == "sport"
    assert len(handler.seen) == 2


def test_an_upload_carries_an_idempotency_key_so_it_is_sent_again_whole(tmp_path: Path) -> None:
    data = tmp_path / "labelled.csv"
    data.write_bytes(b"text,label\n" + b"the match was won,sport\n" * 5000)
    answer = {"classifier": "topics", "version": 1, "rows": 1, "dropped": 0, "duplicates": 4999}
    handler = FailingFirst(httpx.ReadError, httpx.Response(201, json=answer))
    with client(handler) as api:
        assert api.datasets.upload("topics", data) == answer
    first, second = handler.seen
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert first.headers["content-type"] == "text/csv"
    assert second.read() == data.read_bytes()  # the file is read again from its start


def test_a_resend_that_finds_the_first_send_still_running_waits_for_its_answer(
    tmp_path: Path,
) -> None:
    data = tmp_path / "labelled.csv"
    data.write_bytes(b"text,label\nthe match was won,sport\n")
    answer = {"classifier": "topics", "version": 1, "rows": 1, "dropped": 0, "duplicates": 0}
    running = {"error": {"code": "idempotency_key_in_use", "message": "still running"}}
    answers = iter(
        [
            httpx.Response(409, json=running, headers={"retry-after": "0"}),
            httpx.Response(201, json=answer),
        ]
    )
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(answers)

    with client(handler) as api:
        assert api.datasets.upload("topics", data) == answer
    assert (
        len(seen) == 2 and seen[0].headers["idempotency-key"] == seen[1].headers["idempotency-key"]
    )


def test_a_conflict_of_another_kind_is_an_answer_not_retried() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(409, json={"error": {"code": "conflict", "message": "no"}})

    with client(handler) as api, pytest.raises(ApiError):
        api.classify("topics", "a text")
    assert len(seen) == 1


def test_a_503_is_retried_until_the_attempts_run_out_then_raised_with_its_error() -> None:
    seen: list[httpx.Request] = []

    def unavailable(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, json={"error": {"code": "unavailable", "message": "busy"}})

    with client(unavailable) as api, pytest.raises(ServerError) as raised:
        api.models.list("topics")
    assert len(seen) == QUICK.max_attempts
    assert (raised.value.status, raised.value.code, raised.value.message) == (
        503,
        "unavailable",
        "busy",
    )


def test_a_retry_after_longer_than_the_policy_waits_is_raised_at_once() -> None:
    seen: list[httpx.Request] = []
    month = {"Retry-After": "86400", "X-RateLimit-Remaining": "0"}
    body = {"error": {"code": "quota_exceeded", "message": "used up"}}

    def spent(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(429, json=body, headers=month)

    with client(spent) as api, pytest.raises(RateLimitError) as raised:
        api.classify("topics", "a text")
    assert len(seen) == 1
    assert raised.value.code == "quota_exceeded" and raised.value.retry_after == 86400
    assert raised.value.headers["x-ratelimit-remaining"] == "0"


def test_a_retry_after_is_waited_for_then_the_request_is_sent_again() -> None:
    slow_down = {"error": {"code": "rate_limited", "message": "slow down"}}
    refused = httpx.Response(429, json=slow_down, headers={"Retry-After": "0.2"})
    answers = iter([refused, httpx.Response(200, json=PREDICTION)])
    retries: list[Retry] = []
    started = time.monotonic()
    with client(lambda request: next(answers), retries) as api:
        assert api.classify("topics", "a text") == PREDICTION
    assert time.monotonic() - started >= 0.2
    (retry,) = retries
    assert (retry.status, retry.retry_after) == (429, 0.2) and retry.delay >= 0.2


def test_an_answer_not_in_the_error_shape_still_raises_an_api_error() -> None:
    page = httpx.Response(502, text="<html>Bad Gateway</html>")
    with (
        client(lambda request: page) as api,
        pytest.raises(ApiError, match="502 http_error") as raised,
    ):
        api.classifiers.get("topics")
    assert raised.value.message == "<html>Bad Gateway</html>"


def test_an_error_names_its_field_and_the_request() -> None:
    body = {"error": {"code": "validation_error", "message": "text: too short", "field": "text"}}
    with (
        client(lambda request: httpx.Response(422, json=body)) as api,
        pytest.raises(InvalidRequestError) as raised,
    ):
        api.classify("a/b", "x")
    assert raised.value.field == "text"
    assert raised.value.request == "POST http://textloop.test/v1/classifiers/a%2Fb/classify"
    assert str(raised.value) == (
        "422 validation_error [text]: text: too short "
        "(POST http://textloop.test/v1/classifiers/a%2Fb/classify)"
    )


def test_retry_after_may_be_an_http_date() -> None:
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (retry_after_seconds(later) or 0) <= 30
    assert retry_after_seconds("7") == 7 and retry_after_seconds("soon") is None


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(backoff=1.0, max_backoff=4.0)
    assert 0.5 <= policy.backoff_delay(1) <= 1.0
    assert 1.0 <= policy.backoff_delay(2) <= 2.0
    assert 2.0 <= policy.backoff_delay(5) <= 4.0


def test_a_download_that_breaks_leaves_no_file(tmp_path: Path) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        class Cut(httpx.SyncByteStream):
            def __iter__(self) -> Iterator[bytes]:
                yield b"id,label\n"
                raise httpx.ReadError("cut", request=request)

        return httpx.Response(200, stream=Cut())

    with client(broken) as api, pytest.raises(TransportError, match="cut"):
        api.batch_jobs.download("b1", tmp_path / "out.csv")
    assert list(tmp_path.iterdir()) == []


def test_the_async_client_retries_alike() -> None:
    handler = FailingFirst(httpx.ConnectError, httpx.Response(200, json=PREDICTION))

    async def classify() -> str:
        async with AsyncClient(
            "http://textloop.test", "tl_key", retry=QUICK, transport=httpx.MockTransport(handler)
        ) as api:
            return (await api.classify("topics", "a text"))["label"]

    assert asyncio.run(classify()) == "sport"
    assert handler.seen[1].headers["authorization"] == "Bearer tl_key"
