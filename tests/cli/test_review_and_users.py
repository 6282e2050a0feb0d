"""The review queue and portal accounts from the command line: listed for people and scripts,
binary exports never written to a terminal, and the review commands' old top-level names still
working for a release."""

import json
from pathlib import Path

import pytest
import typer.main

from tests.corpus import write_corpus
from tests.processes import environment, run_cli
from textloop.cli import RENAMED, app
from textloop.config import Settings
from textloop.store import open_store
from textloop.store.queries import get_classifier
from textloop.store.tables import ReviewTask


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    # formatting, not storage, is under test: SQLite alone
    return environment(tmp_path / "data", f"sqlite:///{tmp_path / 'textloop.db'}")


@pytest.fixture
def with_tasks(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    corpus = write_corpus(tmp_path / "c.csv")
    assert run_cli(env, "ingest", str(corpus), "--classifier", "topics").returncode == 0
    settings = Settings.load(
        data_dir=Path(env["TEXTLOOP_DATA_DIR"]), database_url=env["TEXTLOOP_DATABASE_URL"]
    )
    store = open_store(settings)
    with store.session() as session:
        classifier_id = get_classifier(session, "topics").id
        session.add_all(
            [
                ReviewTask(
                    classifier_id=classifier_id,
                    source="implicit",
                    text="rain over the hills",
                    suggested_label="weather",
                    confidence=0.41,
                ),
                ReviewTask(
                    classifier_id=classifier_id,
                    source="explicit",
                    status="done",
                    text="the match went to extra time",
                    suggested_label="weather",
                    reported_label="sports",
                    final_label="sports",
                ),
            ]
        )
    store.dispose()
    return env


def test_review_tasks_lists_the_open_queue_and_any_status_on_request(
    with_tasks: dict[str, str],
) -> None:
    shown = run_cli(with_tasks, "review", "tasks", "topics")
    assert shown.returncode == 0, shown.stderr
    assert "rain over the hills" in shown.stdout and "extra time" not in shown.stdout
    listed = run_cli(with_tasks, "review", "tasks", "topics", "--status", "all", "--json")
    tasks = json.loads(listed.stdout)
    assert [(t["status"], t["source"], t["final_label"]) for t in tasks] == [
        ("open", "implicit", None),
        ("done", "explicit", "sports"),
    ]
    wrong = run_cli(with_tasks, "review", "tasks", "topics", "--status", "someday")
    assert wrong.returncode == 1
    assert "status must be one of open, done, conflict or all, not 'someday'" in wrong.stderr


def test_parquet_export_needs_a_file_and_writes_nothing_to_the_terminal(
    with_tasks: dict[str, str], tmp_path: Path
) -> None:
    refused = run_cli(with_tasks, "review", "export", "topics", "--format", "parquet")
    assert refused.returncode == 1 and refused.stdout == ""
    assert "--format parquet is binary: write it to a file with --output FILE" in refused.stderr
    target = tmp_path / "decisions.parquet"
    written = run_cli(
        with_tasks, "review", "export", "topics", "--format", "parquet", "-o", str(target)
    )
    assert written.returncode == 0, written.stderr
    assert target.read_bytes()[:4] == b"PAR1"


def test_an_old_review_command_name_runs_the_new_command_and_says_what_to_type_instead(
    with_tasks: dict[str, str],
) -> None:
    old = run_cli(with_tasks, "review-tasks", "topics", "--status", "all", "--json")
    assert old.returncode == 0, old.stderr
    new = run_cli(with_tasks, "review", "tasks", "topics", "--status", "all", "--json")
    assert json.loads(old.stdout) == json.loads(new.stdout)  # stdout stays parseable
    assert old.stderr.strip() == (
        "textloop review-tasks is now textloop review tasks; the old name goes in a later release"
    )
    assert new.stderr == ""


def test_a_command_run_by_its_old_name_is_audited_under_its_new_one(
    with_tasks: dict[str, str],
) -> None:
    checked = run_cli(with_tasks, "review-check", "topics", "--json")
    assert checked.returncode == 0, checked.stderr
    entries = json.loads(run_cli(with_tasks, "audit", "--action", "review", "--json").stdout)
    assert [entry["action"] for entry in entries] == ["textloop review check"]


def test_old_names_lead_to_commands_that_exist_and_are_not_listed_in_help(
    env: dict[str, str],
) -> None:
    root = typer.main.get_group(app)
    for old, words in RENAMED.items():
        assert old not in root.commands  # so neither --help nor the docs name it
        group = root.commands[words[0]]
        assert words[1] in getattr(group, "commands", {}), f"{old} leads nowhere"
    listed = run_cli(env, "--help").stdout
    assert "│ review " in listed and "review-check" not in listed


def test_users_list_shows_every_account_with_its_role_and_classifiers(
    env: dict[str, str],
) -> None:
    assert "no portal accounts yet" in run_cli(env, "users", "list").stdout
    for email, role in (("rita@example.com", "reviewer"), ("ann@example.com", "admin")):
        created = run_cli(
            env, "users", "create", email, "--role", role, "--password-stdin", stdin="x" * 12
        )
        assert created.returncode == 0, created.stderr
    users = json.loads(run_cli(env, "users", "list", "--json").stdout)
    assert [(u["email"], u["role"], u["classifiers"], u["disabled"]) for u in users] == [
        ("ann@example.com", "admin", None, False),
        ("rita@example.com", "reviewer", None, False),
    ]
    table = run_cli(env, "users", "list").stdout
    assert "rita@example.com" in table and "reviewer" in table
