"""A file of corrections is explicit feedback: every row opens a review task carrying the model's
own answer, bad rows refuse the file naming the row, and the same file twice records once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.batch.conftest import Trained
from tests.processes import run_cli
from textloop.artifacts import artifacts_for
from textloop.predict.classify import classify
from textloop.predict.model_cache import ModelCache
from textloop.security.api_keys import create_api_key
from textloop.serving.app import create_app
from textloop.store.tables import Feedback, ReviewTask

pytestmark = pytest.mark.slow  # trains an embedding model


def counts(trained: Trained) -> tuple[int, int]:
    with trained.store.session() as session:
        return (
            session.scalar(select(func.count()).select_from(Feedback)) or 0,
            session.scalar(select(func.count()).select_from(ReviewTask)) or 0,
        )


def test_corrections_by_text_and_by_prediction_are_recorded_once(
    trained: Trained, tmp_path: Path
) -> None:
    models = ModelCache.shared(artifacts_for(trained.settings), _resources(trained))
    (predicted,) = classify(trained.store, models, "topics", ["the storm and the rain today"])
    path = tmp_path / "fixes.csv"
    path.write_text(
        "text,prediction_id,label\n"
        "the bank raised interest again,,finance\n"
        f",{predicted.prediction_id},sport\n",
        encoding="utf-8",
    )
    before = counts(trained)
    done = run_cli(trained.env, "corrections", "topics", str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) | {"content_hash": ""} == {
        "rows": 2, "review_tasks": 2, "created": True, "content_hash": "",
    }  # fmt: skip
    assert counts(trained) == (before[0] + 2, before[1] + 2)
    with trained.store.session() as session:
        by_text, by_prediction = session.scalars(
            select(ReviewTask).order_by(ReviewTask.created_at.desc()).limit(2)
        ).all()[::-1]
    assert (by_text.source, by_text.reported_label, by_text.suggested_label) == (
        "explicit", "finance", "finance",
    )  # fmt: skip
    assert by_text.scores and by_prediction.prediction_id == predicted.prediction_id
    missing = run_cli(trained.env, "corrections", "topics", str(tmp_path / "missing.csv"))
    assert missing.returncode == 1 and missing.stderr.strip().endswith("missing.csv: no such file")
    again = run_cli(trained.env, "corrections", "topics", str(path), "--json")
    assert json.loads(again.stdout)["created"] is False
    assert counts(trained) == (before[0] + 2, before[1] + 2)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("text,label\nsome text,astronomy\n", "row 1: 'astronomy' is not a label of 'topics'"),
        ("text,label\nsome text,sport\n   ,sport\n", "row 2: empty text"),
        ("prediction_id,label\nnope,sport\n", "row 1: prediction 'nope' does not exist"),
        ("text,verdict\nsome text,sport\n", "a label column and a text or prediction_id column"),
    ],
)
def test_a_bad_row_refuses_the_whole_file_over_http(
    trained: Trained, content: str, message: str
) -> None:
    with trained.store.session() as session:
        key = create_api_key(session, ["feedback"]).key
    before = counts(trained)
    with TestClient(create_app(trained.settings)) as client:
        answer = client.post(
            "/v1/classifiers/topics/corrections",
            content=content.encode(),
            headers={"x-api-key": key, "content-type": "text/csv"},
        )
    assert answer.status_code == 422, answer.text
    assert message in answer.json()["error"]["message"]
    assert answer.json()["error"]["message"].startswith("upload: ")
    assert counts(trained) == before


def _resources(trained: Trained):  # type: ignore[no-untyped-def]
    from textloop.models.base import ModelResources, Use

    return ModelResources.for_settings(trained.settings, Use.SERVING)  # as the server predicts
