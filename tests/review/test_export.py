"""Exported review decisions: one row per decision, in CSV, JSONL and Parquet alike."""

import io
import json
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.errors import InvalidRequest
from textloop.pipeline.ingestion import ingest_batch
from textloop.review.assignments import SKIPPED, claim_next, decide
from textloop.review.export import COLUMNS, decisions_table, export_bytes
from textloop.security.accounts import create_user
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import ReviewTask

pytestmark = pytest.mark.storage


@pytest.fixture
def decided(store: Store, settings: Settings, corpus_csv: Path) -> Store:
    ingest_batch(store, settings, "topics", read_labelled_file(corpus_csv), "corpus")
    with store.session() as session:
        classifier = get_classifier(session, "topics")
        for text in ("first text", "second text"):
            session.add(ReviewTask(classifier_id=classifier.id, source="explicit", text=text))
            session.flush()
        user = create_user(session, "rita@example.com", "a long password", "reviewer").id
        decide(session, claim_next(session, "topics", user).id, user, "sport")
        decide(session, claim_next(session, "topics", user).id, user, SKIPPED)
    return store


def test_every_decision_is_a_row_with_who_what_when_and_source(decided: Store) -> None:
    with decided.session() as session:
        rows = decisions_table(session, "topics").to_pylist()
    assert [(r["text"], r["decision"], r["skipped"], r["reviewer"]) for r in rows] == [
        ("first text", "sport", "false", "rita@example.com"),
        ("second text", "skip", "true", "rita@example.com"),
    ]
    assert rows[0]["final_label"] == "sport" and rows[0]["decided_at"]


def test_the_three_formats_hold_the_same_rows(decided: Store) -> None:
    with decided.session() as session:
        table = decisions_table(session, "topics")
    from_csv = pacsv.read_csv(io.BytesIO(export_bytes(table, "csv")))
    from_parquet = pq.read_table(io.BytesIO(export_bytes(table, "parquet")))
    lines = export_bytes(table, "jsonl").decode("utf-8").splitlines()
    assert tuple(from_csv.column_names) == tuple(from_parquet.column_names) == COLUMNS
    assert [json.loads(line)["decision"] for line in lines] == ["sport", "skip"]
    assert from_parquet.column("decision").to_pylist() == ["sport", "skip"]
    with pytest.raises(InvalidRequest, match="format must be one of csv, jsonl, parquet"):
        export_bytes(table, "xlsx")
