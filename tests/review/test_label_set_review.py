"""Reviewing a multi-label classifier's answers: a doubtful set becomes a task, reviewers decide
label sets (the empty one is "no label applies"), agree only on the same set, and the settled
sets become training data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.serving.portal import PASSWORD, sign_in, token_in
from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.continuous.merge import merge_reviewed_labels
from textloop.data.datasets import load_splits
from textloop.data.readers import ReadOptions, read_labelled_file
from textloop.errors import InvalidRequest
from textloop.models.base import ModelResources
from textloop.predict.classify import classify
from textloop.predict.model_cache import ModelCache
from textloop.review.assignments import NONE_FITS, SKIPPED, claim_next, decide
from textloop.review.export import decisions_table, export_review
from textloop.review.set_agreement import krippendorff_alpha
from textloop.review.stats import reviewer_stats
from textloop.security.accounts import create_user
from textloop.security.api_keys import create_api_key
from textloop.serving.app import create_app
from textloop.store import Store
from textloop.store.queries import get_classifier, latest_dataset_version
from textloop.store.stored_labels import decode, encode
from textloop.store.tables import ReviewDecision, ReviewStatus, ReviewTask

TEXTS = ["the striker and the bank", "rain at last", "the weekend and the neighbour today"]


@pytest.fixture
def asked(both_modes: Store, settings: Settings) -> Store:
    """``tags`` with every answer sent to review (threshold above any confidence), and two
    reviewers; its three answers to ``TEXTS`` are open tasks."""
    with both_modes.session() as session:
        get_classifier(session, "tags").threshold = 1.1
        for email in ("rita@example.com", "sam@example.com"):
            create_user(session, email, PASSWORD, "reviewer")
    classify(both_modes, ModelCache(artifacts_for(settings), ModelResources()), "tags", TEXTS)
    return both_modes


def _user_id(session, email: str) -> int:  # type: ignore[no-untyped-def]
    from textloop.store.tables import User

    return session.scalar(select(User.id).where(User.email == email))


def test_a_doubtful_set_becomes_a_task_suggesting_the_model_s_set(asked: Store) -> None:
    with asked.session() as session:
        tasks = session.scalars(select(ReviewTask).order_by(ReviewTask.created_at)).all()
    assert len(tasks) == 3
    assert all(t.status == ReviewStatus.OPEN and t.source == "implicit" for t in tasks)
    suggested = {t.text: t.suggested_label for t in tasks}
    assert suggested[TEXTS[0]] == encode(["finance", "sport"])
    assert suggested[TEXTS[2]] == ""  # the empty set: the model saw no label


def test_reviewers_agree_only_on_the_same_set_and_the_empty_set_settles_too(
    asked: Store,
) -> None:
    with asked.session() as session:
        get_classifier(session, "tags").review_overlap = 2
        rita, sam = _user_id(session, "rita@example.com"), _user_id(session, "sam@example.com")
        decisions = {
            TEXTS[0]: (encode(["sport", "finance"]), encode(["finance", "sport"])),  # any order
            TEXTS[1]: (encode(["weather"]), encode(["weather", "sport"])),
            TEXTS[2]: (NONE_FITS, NONE_FITS),
        }
        for who in (0, 1):
            for _ in TEXTS:
                task = claim_next(session, "tags", (rita, sam)[who])
                assert task is not None
                decide(session, task.id, (rita, sam)[who], decisions[task.text][who])
        settled = {t.text: t for t in session.scalars(select(ReviewTask))}
        assert settled[TEXTS[0]].status == ReviewStatus.DONE
        assert settled[TEXTS[0]].final_label == encode(["finance", "sport"])
        assert settled[TEXTS[1]].status == ReviewStatus.CONFLICT
        assert settled[TEXTS[2]].status == ReviewStatus.DONE
        assert settled[TEXTS[2]].final_label is None  # no label applies
        stats = {row.email: row for row in reviewer_stats(session)}
        exported = decisions_table(session, "tags").to_pylist()
    written = {(row["text"], row["decision"], row["final_label"]) for row in exported}
    assert (TEXTS[0], "finance|sport", "finance|sport") in written  # sets as a file holds them
    assert (TEXTS[1], "sport|weather", None) in written  # in conflict: nothing settled
    assert (TEXTS[2], "none of these", None) in written
    # agreement on sets is Krippendorff's alpha with the MASI distance: partial for {weather}
    # against {sport, weather}, where exact-match kappa would count a plain disagreement
    expected = krippendorff_alpha(
        [[("finance", "sport")] * 2, [("weather",), ("sport", "weather")], [(), ()]]
    )
    assert expected is not None and 0 < expected < 1
    assert stats["rita@example.com"].kappa == pytest.approx(expected)
    assert stats["sam@example.com"].shared_tasks == 3


def test_a_set_naming_an_unknown_label_is_refused(asked: Store) -> None:
    with asked.session() as session:
        rita = _user_id(session, "rita@example.com")
        task = claim_next(session, "tags", rita)
        assert task is not None
        with pytest.raises(InvalidRequest, match="'fraud' is not a label of 'tags'"):
            decide(session, task.id, rita, encode(["sport", "fraud"]))
        assert session.scalars(select(ReviewDecision)).all() == []


def test_settled_sets_become_training_data_the_empty_one_included(
    asked: Store, settings: Settings
) -> None:
    with asked.session() as session:
        rita = _user_id(session, "rita@example.com")
        # sets the label check believes (the striker is sport too), so that all three merge
        both = encode(["finance", "sport"])
        chosen = {TEXTS[0]: both, TEXTS[1]: encode(["weather"]), TEXTS[2]: None}
        for _ in TEXTS:
            task = claim_next(session, "tags", rita)
            assert task is not None
            decide(session, task.id, rita, chosen[task.text])
    merged = merge_reviewed_labels(asked, settings, "tags")
    assert (merged.reviewed, merged.added) == (3, 3)
    with asked.session() as session:
        version = latest_dataset_version(session, get_classifier(session, "tags"))
        rows = {
            text: label
            for texts, labels in load_splits(session, version.id).values()
            for text, label in zip(texts, labels, strict=True)
        }
        assert [rows[text] for text in TEXTS] == [both, "weather", ""]
        assert all(t.merged_into == version.id for t in session.scalars(select(ReviewTask)))
    assert merge_reviewed_labels(asked, settings, "tags").dataset_version is None  # nothing new


def test_the_api_takes_a_set_and_shows_tasks_with_their_sets(
    asked: Store, settings: Settings
) -> None:
    with asked.session() as session:
        key = create_api_key(session, ["review"], user_email="rita@example.com").key
    with TestClient(create_app(settings)) as client:
        header = {"x-api-key": key}
        claimed = client.post("/v1/classifiers/tags/review/claim", headers=header).json()
        assert claimed["suggested_label"] is None and isinstance(claimed["suggested_labels"], list)
        decided = client.post(
            f"/v1/review/tasks/{claimed['id']}/decision",
            json={"labels": ["weather", "sport"]},
            headers=header,
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["final_labels"] == ["sport", "weather"]
        empty = client.post("/v1/classifiers/tags/review/claim", headers=header).json()
        none = client.post(
            f"/v1/review/tasks/{empty['id']}/decision", json={"labels": []}, headers=header
        )
        assert none.json()["status"] == "done" and none.json()["final_labels"] == []
        last = client.post("/v1/classifiers/tags/review/claim", headers=header).json()
        both = client.post(
            f"/v1/review/tasks/{last['id']}/decision",
            json={"labels": ["sport"], "label": "sport"},
            headers=header,
        )
        assert both.status_code == 422  # one decision at a time


def test_the_portal_ticks_the_model_s_set_and_saves_the_ticked_boxes(
    asked: Store, settings: Settings
) -> None:
    with TestClient(create_app(settings)) as client:
        sign_in(client, "rita@example.com")
        page = client.get("/queues/tags/next")  # follows on to the task the reviewer holds
        assert page.status_code == 200 and 'data-sets="true"' in page.text
        task_id = page.text.split('action="/tasks/')[1].split('"')[0]
        with asked.session() as session:
            task = session.get(ReviewTask, task_id)
            suggested = decode(task.suggested_label or "")
        assert page.text.count('type="checkbox"') == 3  # every label of the classifier
        assert page.text.count(" checked") == len(suggested)  # the model's set, ticked
        posted = client.post(
            f"/tasks/{task_id}",
            data={
                "csrf_token": token_in(page.text),
                "action": "labels",
                "with:weather": "1",
                "with:sport": "1",
            },
            follow_redirects=False,
        )
        assert posted.status_code == 303, posted.text
        saved = client.get(posted.headers["location"])
        assert "Saved: <strong>sport, weather</strong>" in saved.text
    with asked.session() as session:
        (decision,) = session.scalars(select(ReviewDecision)).all()
        assert decision.label == encode(["sport", "weather"])


def test_a_set_is_stored_in_one_form_however_it_was_written_and_shown_in_words(
    asked: Store, settings: Settings
) -> None:
    """Two reviewers who tick the same labels agree, whatever order or repeats the request
    held; a ticked box without a name saves nothing; pages show a set's names, never its
    stored form."""
    with asked.session() as session:
        get_classifier(session, "tags").review_overlap = 2
        create_user(session, "ada@example.com", PASSWORD, "admin")
        rita, sam = _user_id(session, "rita@example.com"), _user_id(session, "sam@example.com")
        task = claim_next(session, "tags", rita)
        assert task is not None and claim_next(session, "tags", sam).id == task.id
        decide(session, task.id, rita, "weather\x1fsport\x1fsport")  # unsorted, repeated
        decide(session, task.id, sam, encode(["sport", "weather"]))
        assert task.status == ReviewStatus.DONE and task.final_label == "sport\x1fweather"
        other = claim_next(session, "tags", rita)
        assert other is not None
        decide(session, other.id, rita, encode(["finance"]))
        assert claim_next(session, "tags", sam).id == other.id
        decide(session, other.id, sam, encode(["finance", "weather"]))  # a conflict
        other_id = other.id
        last = claim_next(session, "tags", rita)
        assert last is not None
        last_id = last.id
    with TestClient(create_app(settings)) as client:
        sign_in(client, "rita@example.com")
        page = client.get(f"/tasks/{last_id}")
        refused = client.post(
            f"/tasks/{last_id}",
            data={"csrf_token": token_in(page.text), "action": "labels", "with:": "1"},
            follow_redirects=False,
        )
        assert refused.status_code == 422 and "a ticked label has no name" in refused.text
        mine = client.get("/queues/tags/mine").text
        assert "sport, weather" in mine and "\x1f" not in mine
        sign_in(client, "ada@example.com")
        conflicts = client.get("/admin/conflicts").text
        shown = re.sub(r'value="[^"]*"', "", conflicts)  # a button posts back the stored form
        assert "finance, weather" in shown and "\x1f" not in shown
        assert ">No label applies</button>" in shown  # the empty set, which trains
        nothing_ticked = client.post(
            f"/admin/conflicts/{other_id}",
            data={"csrf_token": token_in(conflicts), "action": "labels"},
            follow_redirects=False,
        )
        assert nothing_ticked.status_code == 422
        assert "No label applies" in nothing_ticked.text  # the button for the empty set
        settled = client.post(  # a set neither reviewer gave, ticked on the conflicts page
            f"/admin/conflicts/{other_id}",
            data={"csrf_token": token_in(conflicts), "action": "labels", "with:sport": "1"}
            | {"with:finance": "1"},
            follow_redirects=False,
        )
        assert settled.status_code == 303, settled.text
    with asked.session() as session:
        assert (
            session.scalar(select(ReviewDecision).where(ReviewDecision.task_id == last_id)) is None
        )
        settled_task = session.get(ReviewTask, other_id)
        assert settled_task is not None and settled_task.status == ReviewStatus.DONE
        assert settled_task.final_label == encode(["finance", "sport"])


def test_label_studio_gets_sets_as_multi_choice_answers_and_gives_them_back(
    asked: Store, tmp_path: Path
) -> None:
    with asked.session() as session:
        rita = _user_id(session, "rita@example.com")
        chosen = {TEXTS[0]: encode(["sport", "finance"]), TEXTS[1]: SKIPPED, TEXTS[2]: None}
        for _ in TEXTS:
            task = claim_next(session, "tags", rita)
            assert task is not None
            decide(session, task.id, rita, chosen[task.text])
        exported = export_review(session, "tags", "label-studio")
    tasks = {task["data"]["text"]: task for task in json.loads(exported)}
    (set_answer,) = tasks[TEXTS[0]]["annotations"][0]["result"]
    assert set_answer["value"] == {"choices": ["finance", "sport"]}  # one multi-choice item
    assert tasks[TEXTS[0]]["predictions"][0]["result"][0]["value"] == {
        "choices": ["finance", "sport"]
    }
    assert tasks[TEXTS[2]]["predictions"][0]["result"] == []  # the model saw no label
    (none_applies,) = tasks[TEXTS[2]]["annotations"]
    assert (none_applies["result"], none_applies["was_cancelled"]) == ([], False)
    path = tmp_path / "tasks.json"
    path.write_bytes(exported)
    table = read_labelled_file(path, options=ReadOptions(multi_label=True))
    read_back = {row["text"]: row["label"] for row in table.to_pylist()}
    assert read_back[TEXTS[0]] == encode(["finance", "sport"])
    assert read_back[TEXTS[2]] == ""  # an answer that chose nothing: no label applies
    assert TEXTS[1] not in read_back or read_back[TEXTS[1]] is None  # a skip is no answer
