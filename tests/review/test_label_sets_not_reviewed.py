"""What review does not take from a multi-label classifier yet is refused, saying so, before
anything is written: a file of corrections (from the command line and over HTTP), and the check
of reviewed labels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.corpus import write_label_sets
from tests.processes import environment, run_cli
from textloop.config import Settings
from textloop.data.label_sets import Mode
from textloop.data.readers import ReadOptions, read_labelled_file
from textloop.errors import InvalidRequest
from textloop.pipeline.ingestion import ingest_batch
from textloop.review.label_quality import check_reviewed_labels
from textloop.security.api_keys import create_api_key
from textloop.serving.app import create_app
from textloop.store import Store
from textloop.store.tables import Artifact, Feedback, ReviewTask

NOT_YET = "is not available for multi-label classifier 'tags' yet"
CORRECTIONS = "text,label\nthe bank raised interest again,finance\n"


@pytest.fixture
def tags(store: Store, settings: Settings, tmp_path: Path) -> Store:
    """Classifier ``tags``, multi-label, its label sets ingested."""
    sets = write_label_sets(tmp_path / "label-sets.csv")
    table = read_labelled_file(sets, options=ReadOptions(multi_label=True))
    ingest_batch(store, settings, "tags", table, "label sets", mode=Mode.MULTI_LABEL)
    return store


@pytest.fixture
def client(tags: Store, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def written(store: Store) -> tuple[int, int, int]:
    """Feedback rows, review tasks, and recorded correction files."""
    with store.session() as session:
        return (
            session.scalar(select(func.count()).select_from(Feedback)) or 0,
            session.scalar(select(func.count()).select_from(ReviewTask)) or 0,
            session.scalar(
                select(func.count()).select_from(Artifact).where(Artifact.type == "corrections")
            )
            or 0,
        )


def test_corrections_from_the_command_line_are_refused_in_one_line(
    tags: Store, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "fixes.csv"
    path.write_text(CORRECTIONS, encoding="utf-8")
    env = environment(settings.data_dir, settings.database_url)
    done = run_cli(env, "review", "corrections", "tags", str(path))
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: importing corrections {NOT_YET}")
    assert written(tags) == (0, 0, 0)


def test_corrections_over_http_are_refused_with_a_422(tags: Store, client: TestClient) -> None:
    with tags.session() as session:
        key = create_api_key(session, ["feedback"]).key
    answer = client.post(
        "/v1/classifiers/tags/corrections",
        content=CORRECTIONS.encode(),
        headers={"x-api-key": key, "content-type": "text/csv"},
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith(f"importing corrections {NOT_YET}")
    assert written(tags) == (0, 0, 0)


def test_the_check_of_reviewed_labels_is_refused(tags: Store, settings: Settings) -> None:
    with pytest.raises(InvalidRequest, match=f"the label-quality check {NOT_YET}"):
        check_reviewed_labels(tags, "tags")
    env = environment(settings.data_dir, settings.database_url)
    done = run_cli(env, "review", "check", "tags")
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: the label-quality check {NOT_YET}")
