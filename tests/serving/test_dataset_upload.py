"""Dataset uploads read spreadsheet exports as ``textloop ingest`` does: a named charset, a
sniffed or given delimiter, bad rows refused by line or skipped on request."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.annotation_exports import annotation, choices, task
from tests.serving.conftest import Keys

# what these check does not depend on the database: SQLite alone keeps CI short

UPLOAD = "/v1/classifiers/legacy/datasets"
ROWS = "text;label\ncaf\u00e9 au lait;drink\nth\u00e9 vert;drink\none;too;many\nbread;food\n"


def test_a_cp1252_semicolon_upload_with_a_bad_row_is_refused_by_line(
    client: TestClient, keys: Keys
) -> None:
    answer = client.post(
        UPLOAD,
        content=ROWS.encode("cp1252"),
        headers={**keys.header(keys.admin), "content-type": "text/csv; charset=cp1252"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["message"].startswith("upload: line 4 has 3 fields")


def test_skip_bad_rows_stores_the_others_exactly(client: TestClient, keys: Keys) -> None:
    answer = client.post(
        f"{UPLOAD}?skip_bad_rows=true&delimiter=%3B",
        content=ROWS.encode("cp1252"),
        headers={**keys.header(keys.admin), "content-type": "text/csv; charset=cp1252"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["rows"] == 3


def test_without_the_charset_a_cp1252_upload_names_the_bad_byte(
    client: TestClient, keys: Keys
) -> None:
    answer = client.post(
        UPLOAD,
        content=ROWS.encode("cp1252"),
        headers={**keys.header(keys.admin), "content-type": "text/csv"},
    )
    assert answer.status_code == 422
    assert "invalid UTF-8 (byte 0xe9" in answer.json()["error"]["message"]


def test_an_xlsx_workbook_uploads(client: TestClient, keys: Keys, tmp_path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["text", "label"])
    for i in range(6):
        sheet.append([f"row number {i}", "007" if i % 2 else "7"])
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    answer = client.post(
        UPLOAD,
        content=path.read_bytes(),
        headers={
            **keys.header(keys.admin),
            "content-type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        },
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["rows"] == 6
    broken = client.post(
        UPLOAD,
        content=b"not a workbook",
        headers={
            **keys.header(keys.admin),
            "content-type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        },
    )
    assert broken.status_code == 422
    assert "cannot read as an .xlsx workbook" in broken.json()["error"]["message"]


def test_a_label_studio_export_uploads_as_json(client: TestClient, keys: Keys) -> None:
    export = [
        task(1, "great coffee", annotation(choices("Positive"))),
        task(2, "cold and late", annotation(choices("Negative"))),
        task(3, "not annotated yet"),
    ]
    answer = client.post(
        f"{UPLOAD}?label_column=sentiment",
        content=json.dumps(export).encode(),
        headers={**keys.header(keys.admin), "content-type": "application/json"},
    )
    assert answer.status_code == 201, answer.text
    assert (answer.json()["rows"], answer.json()["dropped"]) == (2, 1)
