"""Uploading label sets over HTTP: ``multi_label`` and ``label_separator`` read them as
``textloop ingest --multi-label`` does, the classifier says its mode, and a refusal is a 4xx in
the one JSON error shape, in the API's words, with nothing written."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from textloop.config import Settings
from textloop.security.api_keys import create_api_key
from textloop.serving.app import create_app
from textloop.store import Store
from textloop.store.tables import DatasetVersion

# what the route parses and answers is under test; storage is tests/data's: SQLite alone
UPLOAD = "/v1/classifiers/tickets/datasets"
TICKETS = "text,label\nmy refund never came,refund|billing\nthanks,\ncard stolen,card\n"


@pytest.fixture
def admin(store: Store) -> dict[str, str]:
    with store.session() as session:
        return {"x-api-key": create_api_key(session, ["admin"]).key}


@pytest.fixture
def client(store: Store, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def upload(
    client: TestClient, admin: dict[str, str], body: str, query: str = "", kind: str = "text/csv"
) -> httpx.Response:
    return client.post(f"{UPLOAD}{query}", content=body, headers={**admin, "content-type": kind})


def test_label_sets_upload_and_the_classifier_says_it_is_multi_label(
    client: TestClient, admin: dict[str, str]
) -> None:
    answer = upload(
        client, admin, TICKETS.replace("|", ";"), "?multi_label=true&label_separator=%3B"
    )
    assert answer.status_code == 201, answer.text
    assert (answer.json()["rows"], answer.json()["dropped"]) == (3, 0)
    classifier = client.get("/v1/classifiers/tickets", headers=admin).json()
    assert classifier["mode"] == "multi-label"
    assert classifier["labels"] == ["billing", "card", "refund"]


def test_a_json_lines_upload_of_arrays_is_read_as_label_sets(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = "".join(
        json.dumps(row) + "\n"
        for row in ({"text": "a refund", "label": ["refund"]}, {"text": "thanks", "label": []})
    )
    refused = upload(client, admin, body, kind="application/x-ndjson")
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == (
        "upload: column 'label' holds lists of labels; send multi_label=true to read them as "
        "label sets"
    )
    answer = upload(client, admin, body, "?multi_label=true", kind="application/x-ndjson")
    assert answer.status_code == 201, answer.text


def test_a_file_in_the_other_mode_is_refused_with_the_api_s_remedy(
    client: TestClient, admin: dict[str, str]
) -> None:
    assert upload(client, admin, TICKETS).status_code == 201  # single-label: "refund|billing"
    refused = upload(client, admin, TICKETS, "?multi_label=true")
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "invalid_data"
    assert error["message"] == (
        "classifier 'tickets' is single-label, fixed when it was created; this file was read "
        "as multi-label; upload it without multi_label=true, or to a new classifier"
    )
    classifier = client.get("/v1/classifiers/tickets", headers=admin).json()
    assert classifier["mode"] == "single-label"
    assert classifier["labels"] == ["card", "refund|billing"]


def test_bad_label_sets_are_refused_naming_the_line_and_write_nothing(
    client: TestClient, admin: dict[str, str]
) -> None:
    refused = upload(client, admin, "text,label\nfine,a\nbad,a||b\n", "?multi_label=true")
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == (
        "upload: line 3: the label cell 'a||b' has an empty label name between '|' separators"
    )
    alone = upload(client, admin, TICKETS, "?label_separator=%3B")
    assert alone.status_code == 422
    assert alone.json()["error"]["field"] == "label_separator"
    assert client.get("/v1/classifiers/tickets", headers=admin).status_code == 404


def test_a_label_the_classifier_does_not_know_is_a_422_naming_it_unless_new_labels(
    client: TestClient, admin: dict[str, str], store: Store
) -> None:
    assert upload(client, admin, TICKETS, "?multi_label=true").status_code == 201
    batch = "text,label\nwhere is my parcel,shipping|billing\n"
    refused = upload(client, admin, batch, "?multi_label=true")
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "invalid_data"
    assert error["message"] == (
        "upload:text/csv: row 1: 'shipping' is not one of the labels of multi-label classifier "
        "'tickets' (billing, card, refund); to add a label, upload with new_labels=true"
    )
    classifier = client.get("/v1/classifiers/tickets", headers=admin).json()
    assert classifier["labels"] == ["billing", "card", "refund"]
    with store.session() as session:
        assert session.scalars(select(DatasetVersion.version)).all() == [1]

    added = upload(client, admin, batch, "?multi_label=true&new_labels=true")
    assert (added.status_code, added.json()["version"]) == (201, 2)
    classifier = client.get("/v1/classifiers/tickets", headers=admin).json()
    assert classifier["labels"] == ["billing", "card", "refund", "shipping"]
