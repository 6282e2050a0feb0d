"""``--review-below`` on a multi-label classifier's batch: the rows whose confidence in their
whole set is below it go to review as tasks suggesting that set, in the foreground and as a
durable job alike; the sure rows do not."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy import delete, select

from textloop.batch.jobs import describe, find, submit
from textloop.batch.run import BatchRequest, classify_file, prepare
from textloop.config import Settings
from textloop.store import Store
from textloop.store.stored_labels import encode
from textloop.store.tables import ReviewTask
from textloop.worker import Worker

TEXTS = [
    "the striker scored a goal at the stadium and the bank raised interest",
    "rain and wind in the forecast",
    "what happens to the weekend when the neighbour moves",
    "the coach and the budget were in the news today",
    "a report on the storm mentioned the league",
    "bank and the neighbour",  # unsure of its empty set
    "profit",
    "the referee",  # unsure of one label
    "goal bank rain",  # unsure of three
]
BELOW = 0.95


def doubtful_rows(output: Path) -> dict[str, str]:
    """Each output row below ``BELOW``: its text and its set as a task stores it."""
    rows = pq.read_table(output).to_pylist()
    assert any(row["confidence"] >= BELOW for row in rows)  # some rows are sure
    return {
        row["text"]: encode(row["predicted_labels"].split("|") if row["predicted_labels"] else [])
        for row in rows
        if row["confidence"] < BELOW
    }


def review_tasks(store: Store) -> dict[str, tuple[str, str | None, float | None]]:
    with store.session() as session:
        return {
            task.text: (task.source, task.suggested_label, task.confidence)
            for task in session.scalars(select(ReviewTask))
        }


def test_rows_less_sure_of_their_set_than_review_below_become_tasks_suggesting_the_set(
    both_modes: Store, settings: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("text\n" + "\n".join(TEXTS) + "\n", encoding="utf-8")
    request = BatchRequest(
        "tags", source, tmp_path / "out.parquet", review_below=BELOW, review_limit=100
    )
    summary = classify_file(both_modes, settings, prepare(both_modes, request))
    doubtful = doubtful_rows(tmp_path / "out.parquet")
    assert set(doubtful) == {"bank and the neighbour", "the referee", "goal bank rain"}
    assert doubtful["bank and the neighbour"] == ""  # the empty set is doubted too
    assert summary.review_tasks == len(doubtful)
    tasks = review_tasks(both_modes)
    assert {text: suggested for text, (_, suggested, _) in tasks.items()} == doubtful
    assert {source for source, _, _ in tasks.values()} == {"implicit"}
    assert all(confidence is not None and confidence < BELOW for _, _, confidence in tasks.values())

    # a durable job reads its rows back from the parts it wrote, and opens the same tasks
    with both_modes.session() as session:
        session.execute(delete(ReviewTask))
    job = submit(both_modes, settings, BatchRequest(
        "tags", source, tmp_path / "job.parquet", review_below=BELOW, review_limit=100
    ))  # fmt: skip
    worker = Worker(both_modes, settings)
    while worker.run_once():
        pass
    with both_modes.session() as session:
        done = describe(session, find(session, job["id"]))
    assert (done["status"], done["review_tasks"]) == ("succeeded", len(doubtful))
    assert review_tasks(both_modes) == tasks
