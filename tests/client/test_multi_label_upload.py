"""The client uploads label sets as the API takes them: ``multi_label``, ``label_separator`` and
``new_labels`` as query parameters, left out when not given, and a refusal raised with the
API's message (on a fake network, ``httpx.MockTransport``)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from textloop.client import Client, InvalidRequestError

ANSWER = {"classifier": "tickets", "version": 1, "rows": 1, "dropped": 0, "duplicates": 0}


def test_an_upload_of_label_sets_names_the_mode_and_the_separator(tmp_path: Path) -> None:
    data = tmp_path / "tickets.csv"
    data.write_bytes(b"text,label\nmy refund never came,refund;billing\n")
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=ANSWER)

    with Client("http://textloop.test", "tl_key", transport=httpx.MockTransport(answer)) as api:
        api.datasets.upload("tickets", data, multi_label=True, label_separator=";")
        api.datasets.upload("tickets", data)
    sets, plain = (dict(request.url.params) for request in seen)
    assert sets == {"multi_label": "true", "label_separator": ";"}
    assert plain == {}


def test_new_labels_is_sent_and_a_refused_label_is_raised_naming_it(tmp_path: Path) -> None:
    data = tmp_path / "tickets.csv"
    data.write_bytes(b"text,label\nwhere is my parcel,shipping|billing\n")
    refusal = (
        "upload:text/csv: row 1: 'shipping' is not one of the labels of multi-label classifier "
        "'tickets' (billing, card, refund); to add a label, upload with new_labels=true"
    )

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("new_labels") == "true":
            return httpx.Response(201, json=ANSWER)
        error = {"code": "invalid_data", "message": refusal, "field": None}
        return httpx.Response(422, json={"error": error})

    with Client("http://textloop.test", "tl_key", transport=httpx.MockTransport(answer)) as api:
        with pytest.raises(InvalidRequestError) as refused:
            api.datasets.upload("tickets", data, multi_label=True)
        assert (refused.value.status, refused.value.message) == (422, refusal)
        added = api.datasets.upload("tickets", data, multi_label=True, new_labels=True)
    assert added["version"] == 1
