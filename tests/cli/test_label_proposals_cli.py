"""Proposed labels from the command line: ``review proposals`` lists the names waiting,
``review approve-label`` adds one (its tasks then train on it), ``review reject-label`` turns
one down; both are audited, and a name nobody proposed is one line on stderr."""

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.corpus import write_corpus
from tests.processes import environment, run_cli
from textloop.config import Settings
from textloop.review.assignments import claim_next
from textloop.review.label_proposals import propose
from textloop.security.accounts import create_user
from textloop.store import Store, open_store
from textloop.store.queries import get_classifier
from textloop.store.tables import Job, ReviewTask

TEXTS = ["my invoice is wrong", "where is my receipt", "a poem about the sea"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    # the commands, not storage, are under test: SQLite alone
    return environment(tmp_path / "data", f"sqlite:///{tmp_path / 'textloop.db'}")


def opened(env: dict[str, str]) -> Store:
    settings = Settings.load(
        data_dir=Path(env["TEXTLOOP_DATA_DIR"]), database_url=env["TEXTLOOP_DATABASE_URL"]
    )
    return open_store(settings)


@pytest.fixture
def proposed(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Classifier ``topics``; ann proposed "billing" for the first two texts and "poetry" for
    the third, each an out-of-scope task."""
    corpus = write_corpus(tmp_path / "c.csv")
    assert run_cli(env, "ingest", str(corpus), "--classifier", "topics").returncode == 0
    store = opened(env)
    with store.session() as session:
        classifier_id = get_classifier(session, "topics").id
        for text in TEXTS:
            session.add(ReviewTask(classifier_id=classifier_id, source="out_of_scope", text=text))
            session.flush()
        ann = create_user(session, "ann@example.com", "a long password", "reviewer").id
    for name in ("billing", "billing", "poetry"):
        with store.session() as session:
            task = claim_next(session, "topics", ann)
            assert task is not None
            propose(session, task.id, ann, name)
    store.dispose()
    return env


def final_labels(env: dict[str, str]) -> dict[str, str | None]:
    store = opened(env)
    with store.session() as session:
        labels = {task.text: task.final_label for task in session.scalars(select(ReviewTask))}
    store.dispose()
    return labels


def test_proposals_lists_each_name_waiting_with_its_texts(proposed: dict[str, str]) -> None:
    shown = run_cli(proposed, "review", "proposals", "topics")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "topics: 2 proposed labels waiting, the most proposed first"
    assert lines[1] == "billing  2 proposals, 2 settled tasks; by ann@example.com"
    assert lines[2:4] == [f"    {TEXTS[0]}", f"    {TEXTS[1]}"]
    listed = json.loads(run_cli(proposed, "review", "proposals", "topics", "--json").stdout)
    assert [(n["name"], n["proposals"], n["samples"]) for n in listed] == [
        ("billing", 2, TEXTS[:2]),
        ("poetry", 1, TEXTS[2:]),
    ]


def test_approve_label_adds_it_and_its_tasks_train_on_it_audited(
    proposed: dict[str, str],
) -> None:
    done = run_cli(proposed, "review", "approve-label", "topics", "billing", "--json")
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert (outcome["status"], outcome["proposals"], outcome["label_added"]) == (
        "approved",
        2,
        True,
    )
    assert len(outcome["relabelled"]) == 2
    assert final_labels(proposed) == {TEXTS[0]: "billing", TEXTS[1]: "billing", TEXTS[2]: None}
    again = run_cli(proposed, "review", "approve-label", "topics", "billing")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == (
        "Approved 'billing' for topics: a label already; 0 reviewed tasks now labelled with it "
        "train at the next retrain"
    )
    entries = run_cli(proposed, "audit", "--action", "review approve-label", "--json")
    audited = json.loads(entries.stdout)
    assert [(e["action"], e["target"], e["details"]["label"]) for e in audited] == [
        ("textloop review approve-label", "topics", "billing"),
        ("textloop review approve-label", "topics", "billing"),
    ]


def retrains(env: dict[str, str]) -> list[tuple[str, str, dict[str, object]]]:
    """(status, reason, payload) of every retrain job, oldest first."""
    store = opened(env)
    with store.session() as session:
        jobs = session.scalars(select(Job).where(Job.kind == "retrain").order_by(Job.id))
        found = [(job.status, job.reason, dict(job.payload)) for job in jobs]
    store.dispose()
    return found


def test_approve_label_queues_a_retrain_once_enough_labels_wait(proposed: dict[str, str]) -> None:
    policy = run_cli(proposed, "retrain-policy", "topics", "--after", "2")
    assert policy.returncode == 0, policy.stderr
    assert retrains(proposed) == []
    done = run_cli(proposed, "review", "approve-label", "topics", "billing")
    assert done.returncode == 0, done.stderr
    assert retrains(proposed) == [("queued", "2 new reviewed labels", {"trigger": "labels"})]


def test_reject_label_leaves_the_tasks_none_of_these_audited(proposed: dict[str, str]) -> None:
    done = run_cli(proposed, "review", "reject-label", "topics", "poetry")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "Rejected 'poetry' for topics: 1 proposals; their tasks stay \"none of these\""
    )
    assert final_labels(proposed)[TEXTS[2]] is None
    listed = json.loads(run_cli(proposed, "review", "proposals", "topics", "--json").stdout)
    assert [n["name"] for n in listed] == ["billing"]
    entries = run_cli(proposed, "audit", "--action", "review reject-label", "--json")
    assert [e["details"] for e in json.loads(entries.stdout)] == [
        {"label": "poetry", "rejected": 1}
    ]


def test_a_name_nobody_proposed_or_already_decided_is_one_line_on_stderr(
    proposed: dict[str, str],
) -> None:
    unknown = run_cli(proposed, "review", "approve-label", "topics", "refunds")
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert unknown.stderr.strip() == ("error: nobody proposed 'refunds' as a label of 'topics'")
    assert run_cli(proposed, "review", "reject-label", "topics", "poetry").returncode == 0
    late = run_cli(proposed, "review", "approve-label", "topics", "poetry")
    assert late.returncode == 1
    assert "'poetry' was rejected for 'topics': nothing is pending" in late.stderr
    assert len(late.stderr.strip().splitlines()) == 1
