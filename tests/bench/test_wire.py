"""The minimal HTTP/1.1 reader and writer the load generator uses, on fixed bytes."""

import asyncio
import json

import pytest

from textloop.bench.wire import ProtocolError, Response, classify_request, read_response


def read(*chunks: bytes) -> Response:
    async def go() -> Response:
        reader = asyncio.StreamReader()
        for chunk in chunks:
            reader.feed_data(chunk)
        reader.feed_eof()
        return await read_response(reader)

    return asyncio.run(go())


def test_a_content_length_body_is_read_exactly_and_headers_are_lower_cased() -> None:
    response = read(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n",
        b'{"a": true}',
        b"HTTP/1.1 200 OK\r\n",  # the next response on the keep-alive connection stays unread
    )

    assert response == Response(
        200, {"content-type": "application/json", "content-length": "11"}, b'{"a": true}'
    )
    assert response.keeps_alive


def test_a_chunked_body_is_joined_and_its_trailers_skipped() -> None:
    response = read(
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n",
    )

    assert (response.status, response.body) == (201, b"hello world")


def test_connection_close_is_noticed_and_a_body_without_length_runs_to_the_end() -> None:
    response = read(b"HTTP/1.1 503 Busy\r\nConnection: close\r\n\r\ntry later")

    assert (response.status, response.body, response.keeps_alive) == (503, b"try later", False)


def test_a_connection_closed_mid_body_is_an_incomplete_read() -> None:
    with pytest.raises(asyncio.IncompleteReadError):
        read(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")


@pytest.mark.parametrize(
    "head",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
    ],
)
def test_anything_else_is_a_protocol_error(head: bytes) -> None:
    with pytest.raises(ProtocolError):
        read(head)


def test_a_classify_request_carries_the_key_and_a_json_body_of_the_right_length() -> None:
    request = classify_request("127.0.0.1:8000", "topics", "tl_key", "café «au» lait")

    head, body = request.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0] == "POST /v1/classifiers/topics/classify HTTP/1.1"
    assert set(lines[1:]) == {
        "Host: 127.0.0.1:8000",
        "X-API-Key: tl_key",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    }
    assert json.loads(body) == {"text": "café «au» lait"}
