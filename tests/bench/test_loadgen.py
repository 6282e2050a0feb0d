"""The closed-loop load generator against a small real HTTP server on a loopback port.

The server here is a few lines of ``socketserver`` that can answer with an error or drop the
connection, so the generator's counting and reconnecting can be checked exactly.
"""

import itertools
import json
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from textloop.bench.loadgen import Target, run_load
from textloop.errors import InvalidRequest

TEXTS = ["alpha", "bravo", "charlie", "delta", "echo"]


@dataclass
class Behaviour:
    """How the toy server answers: every ``drop_every``-th request loses its connection, and
    texts in ``failing`` get a 500."""

    drop_every: int = 0
    failing: frozenset[str] = frozenset()
    received: list[str] = field(default_factory=list)
    first_texts: list[str] = field(default_factory=list)  # of each connection
    keys: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Handler(socketserver.StreamRequestHandler):
    server: "ToyServer"

    def handle(self) -> None:
        behaviour = self.server.behaviour
        first = True
        while self.rfile.readline():  # the request line; empty when the client hung up
            headers = {}
            while (line := self.rfile.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            text = json.loads(self.rfile.read(int(headers["content-length"])))["text"]
            with behaviour.lock:
                if first:
                    behaviour.first_texts.append(text)
                first = False
                behaviour.received.append(text)
                behaviour.keys.add(headers["x-api-key"])
                count = next(self.server.counter)
            if behaviour.drop_every and count % behaviour.drop_every == 0:
                return  # close without answering
            status = b"500 Internal Server Error" if text in behaviour.failing else b"200 OK"
            self.wfile.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\n\r\n{}")


class ToyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self, behaviour: Behaviour) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.behaviour = behaviour
        self.counter = itertools.count(1)


def serving(behaviour: Behaviour) -> Iterator[Target]:
    server = ToyServer(behaviour)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Target("127.0.0.1", server.server_address[1], "topics", "tl_test")
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def behaviour() -> Behaviour:
    return Behaviour()


@pytest.fixture
def target(behaviour: Behaviour) -> Iterator[Target]:
    yield from serving(behaviour)


def test_every_user_keeps_one_connection_and_every_text_is_sent(
    target: Target, behaviour: Behaviour
) -> None:
    result = run_load(target, TEXTS, concurrency=3, duration=0.3)

    assert result.concurrency == 3
    assert result.requests > 0 and result.errors == 0
    assert result.p50_ms is not None and result.p99_ms is not None
    assert len(behaviour.first_texts) == 3  # connections
    assert set(behaviour.received) == set(TEXTS)
    assert behaviour.keys == {"tl_test"}


def test_users_start_at_different_texts(target: Target, behaviour: Behaviour) -> None:
    run_load(target, TEXTS, concurrency=5, duration=0.1)

    assert sorted(behaviour.first_texts) == sorted(TEXTS)


def test_non_200_answers_are_errors_and_not_in_the_latencies(
    target: Target, behaviour: Behaviour
) -> None:
    behaviour.failing = frozenset(TEXTS[:1])

    result = run_load(target, TEXTS, concurrency=1, duration=0.3)

    assert result.errors > 0
    assert result.requests > result.errors
    assert result.throughput == pytest.approx((result.requests - result.errors) / result.elapsed)


def test_a_dropped_connection_is_an_error_and_the_user_reconnects(
    target: Target, behaviour: Behaviour
) -> None:
    behaviour.drop_every = 4

    result = run_load(target, TEXTS, concurrency=2, duration=0.3)

    assert result.errors > 0
    assert result.requests - result.errors > result.errors  # three in four still succeed
    assert len(behaviour.first_texts) > 2  # connections


def test_measuring_starts_once_after_the_warm_up() -> None:
    behaviour, calls = Behaviour(), []
    for target in serving(behaviour):
        result = run_load(
            target, TEXTS, 2, 0.2, on_measure=lambda: calls.append(len(behaviour.received))
        )

    assert len(calls) == 1
    assert calls[0] > 0  # requests were answered before counting began
    assert result.requests <= len(behaviour.received) - calls[0]


def test_nothing_listening_makes_every_request_an_error() -> None:
    server = ToyServer(Behaviour())
    port = server.server_address[1]
    server.server_close()

    result = run_load(Target("127.0.0.1", port, "topics", "k"), TEXTS, 2, 0.2)

    assert result.requests == result.errors > 0
    assert (result.throughput, result.p50_ms) == (0.0, None)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000", ("127.0.0.1", 8000)),
        ("http://example.test/", ("example.test", 80)),
    ],
)
def test_a_target_is_a_plain_http_host_and_port(url: str, expected: tuple[str, int]) -> None:
    target = Target.from_url(url, "topics", "k")

    assert (target.host, target.port) == expected


@pytest.mark.parametrize("url", ["https://127.0.0.1:8443", "127.0.0.1:8000", "http://h/api"])
def test_anything_else_is_refused_with_the_expected_form(url: str) -> None:
    with pytest.raises(InvalidRequest, match="http://HOST:PORT"):
        Target.from_url(url, "topics", "k")
