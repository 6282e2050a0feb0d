"""What the CLI-driven benchmarks share: a throw-away data directory with Banking77 ingested, and
timed ``textloop`` commands run as fresh processes (so figures include starting Python)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

BANKING77 = Path(__file__).parents[1] / ".." / "shared" / "data" / "banking77"
POSTGRES = "postgresql://postgres@127.0.0.1:5432"  # trust auth, as the tests expect it


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=BANKING77)
    parser.add_argument("--label-column", default="category")
    parser.add_argument("--model", default="auto")


def textloop(env: dict[str, str], *args: str) -> tuple[dict, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "textloop", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout), time.perf_counter() - started


@contextmanager
def ingested(args: argparse.Namespace) -> Iterator[tuple[dict[str, str], Path]]:
    """An environment whose data directory holds classifier ``bench`` with the train file
    ingested and the test file as its fixed test split; yields it and the scratch folder."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTLOOP_")}
        env["TEXTLOOP_DATA_DIR"] = str(Path(tmp) / "data")
        textloop(env, "ingest", str(args.data / "train.csv"), "-c", "bench", *ingest_options(args))
        yield env, Path(tmp)


def ingest_options(args: argparse.Namespace) -> list[str]:
    return ["--label-column", args.label_column, "--test-file", str(args.data / "test.csv")]


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the local server: its URL, dropped afterwards
    (forcibly: a killed server may leave connections behind)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield f"{POSTGRES}/{name}"
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
