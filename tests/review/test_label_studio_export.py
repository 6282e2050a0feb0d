"""Review tasks exported in Label Studio's import format: the model's suggestion as a prediction,
each decision as an annotation, under the project's own names; read back, the labels are the
reviewers'."""

import json
from pathlib import Path

import pytest

from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.errors import InvalidRequest
from textloop.pipeline.ingestion import ingest_batch
from textloop.review.assignments import SKIPPED, claim_next, decide
from textloop.review.export import export_review
from textloop.review.label_studio import LabelStudioNames, label_studio_tasks
from textloop.security.accounts import create_user
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import ReviewTask

NAMES = LabelStudioNames(data_key="message", from_name="topic", to_name="text")


@pytest.fixture
def reviewed(store: Store, settings: Settings, corpus_csv: Path) -> Store:
    """Three tasks of ``topics``: one decided ``sport``, one skipped, one still open."""
    ingest_batch(store, settings, "topics", read_labelled_file(corpus_csv), "corpus")
    with store.session() as session:
        classifier = get_classifier(session, "topics")
        for text, suggested in (("the striker", "sport"), ("hmm", None), ("rain", "weather")):
            session.add(
                ReviewTask(
                    classifier_id=classifier.id,
                    source="pool",
                    text=text,
                    suggested_label=suggested,
                    confidence=0.4 if suggested else None,
                )
            )
            session.flush()
        rita = create_user(session, "rita@example.com", "a long password", "reviewer").id
        decide(session, claim_next(session, "topics", rita).id, rita, "sport")
        decide(session, claim_next(session, "topics", rita).id, rita, SKIPPED)
    return store


def test_each_review_task_is_a_label_studio_task(reviewed: Store) -> None:
    with reviewed.session() as session:
        decided, skipped, waiting = label_studio_tasks(session, "topics", NAMES)
    assert decided["data"] == {"message": "the striker"}
    assert decided["meta"]["source"] == "pool" and decided["meta"]["status"] == "done"
    (prediction,) = decided["predictions"]
    assert prediction["score"] == 0.4 and prediction["model_version"] == "textloop topics"
    (suggestion,) = prediction["result"]
    assert {k: suggestion[k] for k in ("from_name", "to_name", "type", "value")} == {
        "from_name": "topic",
        "to_name": "text",
        "type": "choices",
        "value": {"choices": ["sport"]},
    }
    (annotation,) = decided["annotations"]
    assert annotation["was_cancelled"] is False
    assert annotation["result"][0]["value"] == {"choices": ["sport"]}
    assert "predictions" not in skipped
    assert [(a["was_cancelled"], a["result"]) for a in skipped["annotations"]] == [(True, [])]
    assert waiting["annotations"] == [] and waiting["meta"]["status"] == "open"
    ids = [item["id"] for t in (decided, waiting) for item in t["predictions"][0]["result"]]
    assert len(set(ids)) == 2  # Label Studio asks for one id per result item


def test_the_export_read_back_gives_the_reviewers_labels(reviewed: Store, tmp_path: Path) -> None:
    with reviewed.session() as session:
        data = export_review(session, "topics", "label-studio", NAMES)
    path = tmp_path / "tasks.json"
    path.write_bytes(data)
    table = read_labelled_file(path, text_column="message", label_column="topic")
    assert [(row["text"], row["label"]) for row in table.to_pylist()] == [
        ("the striker", "sport"),
        ("hmm", None),  # skipped: no label
        ("rain", None),  # only a suggestion: no label
    ]
    assert json.loads(data.decode("utf-8"))[0]["data"] == {"message": "the striker"}


def test_an_unknown_export_format_lists_label_studio(reviewed: Store) -> None:
    with (
        reviewed.session() as session,
        pytest.raises(InvalidRequest, match="one of csv, jsonl, parquet, label-studio, not 'ls'"),
    ):
        export_review(session, "topics", "ls")
