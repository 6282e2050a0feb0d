"""How many predictions a second the server's writer stores, on SQLite and on PostgreSQL.

The writer (``serving.prediction_log``) stores whatever has queued in one transaction, with each
entry also appended to the journal first, as a server does. The baseline, in the same run, is one
transaction per classify answer, as a server that stored each prediction before answering would.
Entries are made as classify makes them: one text each, with its review task when it is below
the threshold, from an ``ngram`` model trained on Banking77 and deployed. The process runs on
one core (``--cpus``), as a server pinned beside its load generator does; the database server is
a process of its own (PostgreSQL's on the other cores, SQLite's inside this one).

Usage: python benchmarks/prediction_writer.py [--rows 20000] [--baseline-rows 2000]
                                             [--databases sqlite,postgresql] [--cpus 0]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _cli import BANKING77, postgres_database
from sqlalchemy import insert

from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.data.readers import read_labelled_file, read_text_file
from textloop.models.base import ModelResources, Use
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.predict.deployment import find_deployment
from textloop.predict.model_cache import ModelCache
from textloop.predict.outcome import to_scored
from textloop.predict.records import records
from textloop.release.deploy import deploy_model
from textloop.serving.journal import Journal
from textloop.serving.prediction_log import Entry, PredictionLog
from textloop.store import Store, open_store
from textloop.store.tables import Prediction, ReviewTask


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A fresh, empty database of ``kind``: its URL, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'textloop.db'}"
        return
    with postgres_database("textloop_writer") as url:
        yield url


def deployed(settings: Settings, data: Path, label_column: str) -> Store:
    store = open_store(settings)
    table = read_labelled_file(data / "train.csv", label_column=label_column)
    ingest_batch(store, settings, "bench", table, "train.csv")
    train_classifier(store, settings, "bench", "ngram")
    deploy_model(store, settings, "bench", 1, force=True)
    return store


def entries(store: Store, settings: Settings, texts: list[str], rows: int) -> list[Entry]:
    """``rows`` classify answers of one text each, as ``serving.online`` queues them."""
    with store.session() as session:
        deployment = find_deployment(session, "bench")
    models = ModelCache(artifacts_for(settings), ModelResources.for_settings(settings, Use.SERVING))
    model = models.get(deployment.version_id, deployment.artifact_uri)
    asked = [texts[number % len(texts)] for number in range(rows)]
    scored = to_scored(model.predict_proba(asked), model.classes_)
    made = []
    for text_, score in zip(asked, scored, strict=True):
        done = records(deployment, [text_], [score])
        made.append(Entry(done.predictions, done.tasks))
    return made


def group_commits(store: Store, made: list[Entry], journal: Path) -> dict[str, float]:
    log = PredictionLog(store, Journal(journal), limit=len(made) + 1)
    started = time.perf_counter()
    for entry in made:
        assert log.offer(entry)
    offered = time.perf_counter()
    assert log.flush(timeout=3600)
    seconds = time.perf_counter() - started
    log.close()
    return {
        "rows": len(made),
        "seconds": round(seconds, 3),
        "rows_per_s": round(len(made) / seconds),
        "offer_us_per_row": round((offered - started) / len(made) * 1e6, 1),
    }


def one_commit_each(store: Store, made: list[Entry]) -> dict[str, float]:
    started = time.perf_counter()
    for entry in made:
        with store.session() as session:
            session.execute(insert(Prediction), entry.predictions)
            if entry.tasks:
                session.execute(insert(ReviewTask), entry.tasks)
    seconds = time.perf_counter() - started
    return {
        "rows": len(made),
        "seconds": round(seconds, 3),
        "rows_per_s": round(len(made) / seconds),
    }


def measure(kind: str, args: argparse.Namespace, texts: list[str]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
        settings = Settings.load(data_dir=Path(tmp) / "data", database_url=url)
        store = deployed(settings, args.data, args.label_column)
        try:
            made = entries(store, settings, texts, args.rows + args.baseline_rows)
            writer = group_commits(store, made[: args.rows], Path(tmp) / "journal")
            baseline = one_commit_each(store, made[args.rows :])
        finally:
            store.dispose()
    tasks = sum(len(entry.tasks) for entry in made)
    return {
        "database": kind,
        "review_tasks_per_prediction": round(tasks / len(made), 3),
        "writer": writer,
        "baseline_one_commit_per_answer": baseline,
        "ratio": round(writer["rows_per_s"] / baseline["rows_per_s"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=BANKING77)
    parser.add_argument("--label-column", default="category")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--baseline-rows", type=int, default=2_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--cpus", default="0", help="cores this process runs on, e.g. 0 or 0-1")
    args = parser.parse_args()
    os.sched_setaffinity(0, cpu_set(args.cpus))
    texts = read_text_file(args.data / "test.csv")
    results = [measure(kind, args, texts) for kind in args.databases.split(",")]
    print(
        json.dumps(
            {
                "machine": f"{platform.processor() or platform.machine()}, "
                f"{os.cpu_count()} CPUs, this process on cores {args.cpus}",
                "results": results,
            },
            indent=2,
        )
    )


def cpu_set(spec: str) -> set[int]:
    cores: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        cores.update(range(int(first), int(last or first) + 1))
    return cores


if __name__ == "__main__":
    main()
