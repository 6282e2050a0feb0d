"""Ingest is a recorded run: a new batch becomes a version, the same batch again is cached."""

from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import func, select

from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.errors import DataError
from textloop.metadata.runs import list_runs, show_run
from textloop.pipeline.ingestion import ingest_batch
from textloop.store import Store
from textloop.store.tables import Artifact, Classifier, Context, DatasetVersion, Execution


def count(store: Store, table: type) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def test_a_batch_becomes_a_dataset_version_in_a_recorded_run(
    store: Store, settings: Settings, corpus_csv: Path
) -> None:
    result = ingest_batch(store, settings, "topics", read_labelled_file(corpus_csv), "corpus")
    assert (result.version, result.rows, result.created) == (1, 120, True)
    with store.session() as session:
        (run,) = list_runs(session, "topics")
        shown = show_run(session, run["run"])
    assert (shown["pipeline"], shown["status"]) == ("ingest", "succeeded")
    assert [(s["step"], s["status"]) for s in shown["steps"]] == [
        ("batch", "succeeded"),
        ("ingest", "succeeded"),
    ]
    (output,) = shown["steps"][1]["outputs"]
    assert output["uri"] == "textloop://topics/datasets/1"
    assert output["content_hash"] == result.content_hash


def test_the_same_batch_again_is_a_cached_step_and_creates_nothing(
    store: Store, settings: Settings, corpus_csv: Path
) -> None:
    table = read_labelled_file(corpus_csv)
    ingest_batch(store, settings, "topics", table, "corpus")
    again = ingest_batch(store, settings, "topics", table, "corpus, resent")
    assert (again.version, again.created, again.dropped) == (1, False, 0)
    reordered = ingest_batch(store, settings, "topics", table.take([*range(119, -1, -1)]), "rev")
    # Another batch (its rows in another order) runs, and finds the same content stored.
    assert (reordered.version, reordered.created) == (1, False)
    assert count(store, DatasetVersion) == 1
    with store.session() as session:
        statuses = session.scalars(
            select(Execution.status).where(Execution.component == "ingest").order_by(Execution.id)
        )
        assert list(statuses) == ["succeeded", "cached", "succeeded"]


@pytest.mark.parametrize("existing", [False, True])
def test_a_refused_batch_leaves_no_trace(
    store: Store, settings: Settings, corpus_csv: Path, existing: bool
) -> None:
    if existing:
        ingest_batch(store, settings, "topics", read_labelled_file(corpus_csv), "corpus")
    before = {t: count(store, t) for t in (Classifier, Context, Execution, Artifact)}
    empty = pa.table({"text": ["", "  "], "label": ["a", "b"]})
    with pytest.raises(DataError, match="no rows with both a text and a label"):
        ingest_batch(store, settings, "topics", empty, "blank.csv")
    assert {t: count(store, t) for t in before} == before
