"""What the client raises when an answer is not what the API sends: a redirect (never
followed), or a success whose body is not JSON. Each is an ``ApiError`` carrying the HTTP
status, never a decoder's error, from a real HTTP server on the loopback interface that answers
each path as the test tells it."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from textloop.client import ApiError, AsyncClient, Client, RetryPolicy

CLASSIFIERS = "/v1/classifiers"
ONCE = RetryPolicy(max_attempts=1)


@dataclass
class Site:
    """A loopback HTTP server: ``answer`` sets what a path gets; ``seen`` lists the paths
    requested, in order. A path it was not told of gets a 404 in the API's error shape."""

    url: str
    answers: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)

    def answer(self, path: str, status: int, body: bytes = b"", **headers: str) -> None:
        self.answers[path] = (status, {k.replace("_", "-"): v for k, v in headers.items()}, body)

    def client(self) -> Client:
        return Client(self.url, "tl_key", retry=ONCE)

    def async_client(self) -> AsyncClient:
        return AsyncClient(self.url, "tl_key", retry=ONCE)


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer()

        def _answer(self) -> None:
            path = urlsplit(self.path).path
            site.seen.append(path)
            missing = json.dumps({"error": {"code": "not_found", "message": path}}).encode()
            status, headers, body = site.answers.get(path, (404, {}, missing))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Answer


@pytest.fixture
def site() -> Iterator[Site]:
    site = Site("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_redirect_is_not_followed_but_raised_with_its_status_and_location(site: Site) -> None:
    site.answer("/v1/elsewhere", 200, b"[]", Content_Type="application/json")
    site.answer(CLASSIFIERS, 302, Location="/v1/elsewhere")
    with site.client() as api, pytest.raises(ApiError) as raised:
        api.classifiers.list()
    error = raised.value
    assert type(error) is ApiError
    assert (error.status, error.code) == (302, "http_error")
    assert error.headers["location"] == "/v1/elsewhere"
    assert str(error) == (
        "302 http_error: redirected to /v1/elsewhere; the client does not follow redirects "
        f"(GET {site.url}{CLASSIFIERS})"
    )
    assert site.seen == [CLASSIFIERS]  # the place it pointed to was never asked


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (301, b""),
        (303, b"<html><body>Moved to the login page</body></html>"),
        (307, b"{not json"),
        (308, b'{"error": {"code": "moved", "message": "elsewhere"}}'),
    ],
    ids=["301-empty", "303-html", "307-broken-json", "308-json"],
)
def test_every_redirect_raises_an_api_error_naming_its_location_whatever_its_body(
    site: Site, status: int, body: bytes
) -> None:
    site.answer(CLASSIFIERS, status, body, Location="https://login.example/sso?next=/v1")
    with site.client() as api, pytest.raises(ApiError) as raised:
        api.classifiers.list()
    assert raised.value.status == status
    assert raised.value.message == (
        "redirected to https://login.example/sso?next=/v1; the client does not follow redirects"
    )
    assert site.seen == [CLASSIFIERS]


def test_a_redirect_without_a_location_says_it_had_none(site: Site) -> None:
    site.answer(CLASSIFIERS, 302)
    with site.client() as api, pytest.raises(ApiError) as raised:
        api.classifiers.list()
    assert raised.value.status == 302
    assert raised.value.message == (
        "redirected, with no Location; the client does not follow redirects"
    )


def test_a_redirected_download_raises_and_writes_no_file(site: Site, tmp_path: Path) -> None:
    site.answer("/v1/batch-jobs/b1/output", 302, b"<html>moved</html>", Location="/storage/b1.csv")
    with site.client() as api, pytest.raises(ApiError, match="302 http_error: redirected"):
        api.batch_jobs.download("b1", tmp_path / "labelled.csv")
    assert list(tmp_path.iterdir()) == []
    assert site.seen == ["/v1/batch-jobs/b1/output"]


@pytest.mark.parametrize(
    ("body", "content_type", "shown"),
    [
        (b"<html><body>Welcome</body></html>", "text/html", "<html><body>Welcome</body></html>"),
        (b"", "application/json", "an empty body"),
        (b'{"predictions": [', "application/json", '{"predictions": ['),
    ],
    ids=["html", "empty", "broken-json"],
)
def test_a_success_whose_body_is_not_json_raises_an_api_error_with_its_status(
    site: Site, body: bytes, content_type: str, shown: str
) -> None:
    site.answer(CLASSIFIERS, 200, body, Content_Type=content_type)
    with site.client() as api, pytest.raises(ApiError) as raised:
        api.classifiers.list()
    error = raised.value
    assert (error.status, error.code) == (200, "invalid_response")
    assert error.message.startswith("the answer cannot be read (JSONDecodeError; ")
    assert content_type in error.message and shown in error.message
    assert error.request == f"GET {site.url}{CLASSIFIERS}"
    assert isinstance(error.__cause__, json.JSONDecodeError)


def test_the_async_client_raises_the_same_errors(site: Site) -> None:
    site.answer(CLASSIFIERS, 302, Location="/v1/elsewhere")
    site.answer("/v1/classifiers/topics", 200, b"<html></html>", Content_Type="text/html")

    async def both() -> tuple[ApiError, ApiError]:
        async with site.async_client() as api:
            with pytest.raises(ApiError) as redirected:
                await api.classifiers.list()
            with pytest.raises(ApiError) as unreadable:
                await api.classifiers.get("topics")
        return redirected.value, unreadable.value

    redirected, unreadable = asyncio.run(both())
    assert (redirected.status, redirected.message) == (
        302,
        "redirected to /v1/elsewhere; the client does not follow redirects",
    )
    assert (unreadable.status, unreadable.code) == (200, "invalid_response")
    assert site.seen == [CLASSIFIERS, "/v1/classifiers/topics"]
