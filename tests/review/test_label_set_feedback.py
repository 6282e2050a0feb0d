"""Explicit feedback on a multi-label classifier reports a label set: by a prediction or by a
text, over HTTP or in a file of corrections. The set is stored in its one form ("no label
applies" as the empty set, apart from no correction at all), the task carries the model's own
set beside it, and nothing is ticked for the reviewer. A wrong kind of correction or an unknown
or empty name is refused and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.processes import environment, run_cli
from tests.serving.portal import PASSWORD, sign_in
from tests.serving.test_rejections import assert_error
from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.errors import InvalidRequest
from textloop.models.base import ModelResources
from textloop.predict.model_cache import ModelCache
from textloop.review.feedback import record_feedback
from textloop.security.accounts import create_user
from textloop.security.api_keys import create_api_key
from textloop.serving.app import create_app
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.stored_labels import encode
from textloop.store.tables import Feedback, ReviewTask


@pytest.fixture
def quiet(both_modes: Store) -> Store:
    """``tags`` and ``topics`` sending no answer to review by themselves (threshold 0), so that
    every task is one a user's feedback opened; a reviewer, rita."""
    with both_modes.session() as session:
        for name in ("tags", "topics"):
            get_classifier(session, name).threshold = 0.0
        create_user(session, "rita@example.com", PASSWORD, "reviewer")
    return both_modes


def _key(store: Store, *scopes: str) -> dict[str, str]:
    with store.session() as session:
        return {"x-api-key": create_api_key(session, list(scopes)).key}


def _written(store: Store) -> tuple[int, int]:
    with store.session() as session:
        return (
            session.scalar(select(func.count()).select_from(Feedback)) or 0,
            session.scalar(select(func.count()).select_from(ReviewTask)) or 0,
        )


def test_feedback_reports_a_set_by_prediction_or_by_text_and_the_task_ticks_nothing(
    quiet: Store, settings: Settings
) -> None:
    key = _key(quiet, "classify", "feedback", "review")
    with TestClient(create_app(settings)) as client:
        answers = client.post(
            "/v1/classifiers/tags/classify",
            json={"texts": ["the striker and the bank", "rain at last"]},
            headers=key,
        ).json()["predictions"]

        def feedback(body: dict[str, object]) -> str:
            sent = client.post("/v1/classifiers/tags/feedback", json=body, headers=key)
            assert sent.status_code == 201, sent.text
            return str(sent.json()["feedback_id"])

        by_prediction = feedback(
            {"prediction_id": answers[0]["prediction_id"], "labels": ["weather", "sport", "sport"]}
        )
        by_text = feedback({"text": "rain at last", "labels": []})  # no label applies
        uncorrected = feedback({"text": "rain at last"})  # wrong, with no correction
        listed = client.get("/v1/classifiers/tags/review/tasks", headers=key).json()["tasks"]
        tasks = {task["feedback_id"]: task for task in listed}
        assert {task["source"] for task in listed} == {"explicit"}

        disputed = tasks[by_prediction]
        assert disputed["reported_labels"] == ["sport", "weather"]  # one form: sorted, distinct
        assert disputed["suggested_labels"] == answers[0]["labels"]
        assert disputed["confidence"] == answers[0]["confidence"]
        # a text without a prediction is scored as a set, with the set's confidence
        assert tasks[by_text]["reported_labels"] == []
        assert tasks[by_text]["suggested_labels"] == answers[1]["labels"]
        assert tasks[by_text]["confidence"] == pytest.approx(answers[1]["confidence"])
        assert tasks[by_text]["prediction_id"] is None
        assert tasks[uncorrected]["reported_labels"] is None
        assert all(task["reported_label"] is None for task in listed)  # never the stored form

        sign_in(client, "rita@example.com")
        page = client.get("/queues/tags/next").text  # the oldest: the disputed prediction
        assert f'action="/tasks/{disputed["id"]}"' in page
        assert page.count('type="checkbox"') == 3 and " checked" not in page
        assert "the user said: <strong>sport, weather</strong>" in page
    with quiet.session() as session:
        stored = {f.id: f.label for f in session.scalars(select(Feedback))}
    assert stored == {by_prediction: encode(["sport", "weather"]), by_text: "", uncorrected: None}


def test_a_correction_of_the_wrong_kind_or_naming_no_label_is_refused_and_writes_nothing(
    quiet: Store, settings: Settings
) -> None:
    key = _key(quiet, "feedback")
    refused = [
        ("tags", {"text": "rain at last", "label": "weather"}, 'multi-label: give "labels"'),
        ("topics", {"text": "a storm", "labels": ["weather"]}, 'single-label: give one "label"'),
        (
            "tags",
            {"text": "rain at last", "labels": ["weather", "fraud"]},
            "'fraud' is not a label of 'tags'; its labels are: finance, sport, weather",
        ),
    ]
    with TestClient(create_app(settings)) as client:
        for name, body, message in refused:
            answer = client.post(f"/v1/classifiers/{name}/feedback", json=body, headers=key)
            assert_error(answer, 422, "invalid_request", message)
        blank = client.post(
            "/v1/classifiers/tags/feedback",
            json={"text": "rain at last", "labels": ["weather", " "]},
            headers=key,
        )
        assert blank.status_code == 422 and "must not be empty" in blank.text
    models = ModelCache(artifacts_for(settings), ModelResources())
    with pytest.raises(InvalidRequest, match="a label name is empty"):
        record_feedback(quiet, models, "tags", text="rain at last", labels=["weather", ""])
    assert _written(quiet) == (0, 0)


def test_a_corrections_file_of_sets_through_the_cli(
    quiet: Store, settings: Settings, tmp_path: Path
) -> None:
    env = environment(settings.data_dir, settings.database_url)
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nrain at last,weather\nthe bank,finance;;sport\n", encoding="utf-8")
    refused = run_cli(env, "review", "corrections", "tags", str(bad), "--label-separator", ";")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "error: bad.csv: row 2: the label cell 'finance;;sport' has an empty label name "
        "between ';' separators"
    ]
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("text,label\nrain at last,weather|fraud\n", encoding="utf-8")
    done = run_cli(env, "review", "corrections", "tags", str(unknown))
    assert done.returncode == 1 and "row 1: 'fraud' is not a label of 'tags'" in done.stderr
    assert _written(quiet) == (0, 0)

    fixes = tmp_path / "fixes.csv"
    fixes.write_text(
        "text,label\nthe striker and the bank,sport;finance\nrain at last,\n", encoding="utf-8"
    )
    done = run_cli(
        env, "review", "corrections", "tags", str(fixes), "--label-separator", ";", "--json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["review_tasks"] == 2
    with quiet.session() as session:
        tasks = {t.text: t for t in session.scalars(select(ReviewTask))}
        reported = {text: task.reported_label for text, task in tasks.items()}
        assert reported == {
            "the striker and the bank": encode(["finance", "sport"]),
            "rain at last": "",  # an empty cell: no label applies
        }
        # the model's own set for a text the file gave, and every label's score for the page
        assert tasks["the striker and the bank"].suggested_label == encode(["finance", "sport"])
        assert set(tasks["rain at last"].scores or {}) == {"finance", "sport", "weather"}
