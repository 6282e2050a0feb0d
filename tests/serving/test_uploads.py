"""What every upload route shares (``serving.uploads``, ``serving.content_type``): the
Content-Type read alike everywhere, one table of formats, one refusal naming what would do, and
an ``Idempotency-Key`` claimed, kept and released in one place."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from textloop.config import Settings
from textloop.errors import IdempotencyKeyReused, UnsupportedMediaType
from textloop.security.api_keys import create_api_key
from textloop.serving import idempotency
from textloop.serving.app import create_app
from textloop.serving.content_type import media_type, parameter
from textloop.serving.uploads import (
    FORMATS,
    MEDIA_TYPES,
    SUFFIXES,
    IdempotentUpload,
    file_media_type,
    upload_format,
)
from textloop.store import Store
from textloop.store.tables import IdempotentRequest

# Reading the header -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["text/csv", "Text/CSV", " text/csv ", "text/csv; charset=cp1252", "TEXT/CSV ;charset=x"],
)
def test_a_media_type_is_read_without_case_padding_or_parameters(header: str) -> None:
    assert media_type({"content-type": header}) == "text/csv"


def test_no_content_type_is_the_empty_media_type() -> None:
    assert media_type({}) == ""


@pytest.mark.parametrize(
    ("header", "charset"),
    [
        ("text/csv; charset=cp1252", "cp1252"),
        ('text/csv; CHARSET="cp1252"', "cp1252"),
        ("text/csv;charset = cp1252 ", "cp1252"),
        ("text/csv; charset=", None),
        ("text/csv; charset=latin-1; charset=cp1252", "cp1252"),
        ("text/csv; header=present", None),
        ("text/csv", None),
    ],
)
def test_a_parameter_is_read_by_its_name_in_any_case(header: str, charset: str | None) -> None:
    assert parameter({"content-type": header}, "charset") == charset


# The formats --------------------------------------------------------------------------------


def test_the_format_is_the_tables_and_the_refusal_lists_what_the_route_takes() -> None:
    assert upload_format({"content-type": "Application/X-Parquet"}) == "parquet"
    assert upload_format({"content-type": "text/csv"}, SUFFIXES) == "csv"
    with pytest.raises(UnsupportedMediaType) as refused:
        upload_format({"content-type": "application/json"}, SUFFIXES, "send a path")
    accepted = [m for m, f in FORMATS.items() if f in SUFFIXES]
    assert refused.value.message == (
        f"unsupported Content-Type 'application/json'; use one of {', '.join(accepted)}, "
        "or send a path"
    )
    assert refused.value.field == "content-type"
    with pytest.raises(UnsupportedMediaType, match=r"'\(none\)'; use one of text/csv, "):
        upload_format({})


def test_a_file_is_answered_with_the_first_media_type_of_its_format() -> None:
    assert MEDIA_TYPES["jsonl"] == "application/x-ndjson"  # not application/jsonl
    assert MEDIA_TYPES["parquet"] == "application/vnd.apache.parquet"
    assert file_media_type(Path("output.csv")) == "text/csv"
    assert file_media_type(Path("output.jsonl")) == "application/x-ndjson"
    assert file_media_type(Path("output.parquet")) == "application/vnd.apache.parquet"
    assert file_media_type(Path("parts")) == "application/vnd.apache.parquet"


@pytest.fixture
def uploader(store: Store, settings: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with store.session() as session:
        key = create_api_key(session, ["admin", "classify", "feedback"]).key
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, {"x-api-key": key}


@pytest.mark.parametrize(
    ("path", "accepted", "otherwise"),
    [
        ("/v1/classifiers/news/datasets", set(FORMATS.values()), ""),
        ("/v1/classifiers/news/corrections", set(SUFFIXES), ""),
        ("/v1/classifiers/news/batch-jobs", set(SUFFIXES), ", or send application/json naming"),
    ],
)
def test_every_upload_route_refuses_an_unknown_type_in_the_same_words(
    uploader: tuple[TestClient, dict[str, str]], path: str, accepted: set[str], otherwise: str
) -> None:
    """The dataset upload used to list its types sorted and the batch route to say "upload one
    of": one table, one order (the documented one), one sentence."""
    client, key = uploader
    answer = client.post(path, content=b"<rows/>", headers={**key, "content-type": "text/xml"})
    assert answer.status_code == 415, answer.text
    known = ", ".join(m for m, f in FORMATS.items() if f in accepted)
    error = answer.json()["error"]
    assert error["message"].startswith(
        f"unsupported Content-Type 'text/xml'; use one of {known}{otherwise}"
    )
    assert error["field"] == "content-type"


# Idempotency-Key ----------------------------------------------------------------------------

BODY = b"text,label\nrain,weather\n"


class Stored(BaseModel):
    version: int


def _request(query: str = "") -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/v1/classifiers/news/datasets",
            "query_string": query.encode(),
            "headers": [],
        }
    )


def _claims(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(IdempotentRequest)) or 0


@pytest.fixture
def api_key_id(store: Store) -> int:
    with store.session() as session:
        return create_api_key(session, ["admin"]).id


def test_a_failed_upload_gives_its_key_back(store: Store, api_key_id: int) -> None:
    async def upload() -> None:
        once = IdempotentUpload(_request(), store, api_key_id, "k")
        async with once:
            assert once.feed is not None
            once.feed(BODY)
            assert await once.replay() is None  # this request holds the key now
            assert _claims(store) == 1
            raise ValueError("the file was refused")

    with pytest.raises(ValueError):
        asyncio.run(upload())
    assert _claims(store) == 0  # may be sent again, corrected


def test_a_finished_upload_is_replayed_to_the_same_request_only(
    store: Store, api_key_id: int
) -> None:
    async def upload(query: str = "") -> Response | None:
        once = IdempotentUpload(_request(query), store, api_key_id, "k")
        async with once:
            assert once.feed is not None
            once.feed(BODY)
            replayed = await once.replay()
            if replayed is not None:
                return replayed
        await once.finish(201, Stored(version=3))
        return None

    assert asyncio.run(upload()) is None
    replayed = asyncio.run(upload())
    assert replayed is not None
    assert (replayed.status_code, replayed.body) == (201, b'{"version":3}')
    assert replayed.headers[idempotency.REPLAYED] == "true"
    with pytest.raises(IdempotencyKeyReused):
        asyncio.run(upload("?label_column=text"))


def test_without_a_key_nothing_is_claimed(store: Store, api_key_id: int) -> None:
    async def upload() -> None:
        once = IdempotentUpload(_request(), store, api_key_id, None)
        async with once:
            assert once.feed is None and await once.replay() is None
        await once.finish(201, Stored(version=1))

    asyncio.run(upload())
    assert _claims(store) == 0
