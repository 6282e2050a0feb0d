"""Backfill over a date range: one retrain per dataset version created in it, oldest first."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.corpus import write_corpus
from textloop.config import Settings
from textloop.continuous.backfill import parse_moment, request_backfill
from textloop.data.readers import read_labelled_file
from textloop.errors import InvalidRequest
from textloop.pipeline.ingestion import ingest_batch
from textloop.store import Store
from textloop.store.tables import DatasetVersion


@pytest.fixture
def two_versions(store: Store, settings: Settings, tmp_path: Path, classifier_id: int) -> None:
    """Dataset version 1 made on 1 October, version 2 on 15 November."""
    more = read_labelled_file(write_corpus(tmp_path / "more.csv", per_label=45))
    ingest_batch(store, settings, "topics", more, "more")
    with store.session() as session:
        first, second = session.scalars(select(DatasetVersion).order_by(DatasetVersion.version))
        first.created_at = datetime(2026, 10, 1, 12, tzinfo=UTC)
        second.created_at = datetime(2026, 11, 15, 9, tzinfo=UTC)
        session.commit()


def test_each_version_in_the_range_gets_its_own_backfill(store: Store, two_versions: None) -> None:
    with store.session() as session:
        everything = request_backfill(session, "topics", None, None, model="ngram")
        assert [job.payload for job in everything] == [
            {"trigger": "manual", "model": "ngram", "dataset_version": v, "backfill": True}
            for v in (1, 2)
        ]
        october = request_backfill(
            session, "topics", None, parse_moment("2026-10-01", "until", end_of_day=True)
        )
        november = request_backfill(session, "topics", parse_moment("2026-11-01", "since"), None)
        assert [job.payload["dataset_version"] for job in october + november] == [1, 2]
        again = request_backfill(session, "topics", None, None, model="ngram")
        assert [job.id for job in again] == [job.id for job in everything]  # nothing new


def test_an_empty_or_backward_range_is_refused(store: Store, two_versions: None) -> None:
    with store.session() as session:
        with pytest.raises(InvalidRequest, match="no dataset version of 'topics'"):
            request_backfill(session, "topics", parse_moment("2026-12-01", "since"), None)
        with pytest.raises(InvalidRequest, match="since must come before until"):
            request_backfill(
                session, "topics", parse_moment("2026-11-02", "s"), parse_moment("2026-11-01", "u")
            )
    with pytest.raises(InvalidRequest, match="'last tuesday' is not a date"):
        parse_moment("last tuesday", "since")
    assert parse_moment("2026-11-01T10:00:00+02:00", "since") == datetime(
        2026, 11, 1, 8, tzinfo=UTC
    )
