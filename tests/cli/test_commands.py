"""The CLI: JSON for scripts, one-line errors with a non-zero exit for people."""

import json
from pathlib import Path

import pytest

from tests.corpus import write_corpus
from tests.processes import environment, run_cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    # what the CLI parses and prints is under test, not storage: SQLite alone
    return environment(tmp_path / "data", f"sqlite:///{tmp_path / 'textloop.db'}")


def test_ingest_train_deploy_classify_from_the_command_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "c.csv")
    ingested = run_cli(env, "ingest", str(corpus), "--classifier", "topics", "--json")
    assert ingested.returncode == 0, ingested.stderr
    assert json.loads(ingested.stdout)["created"] is True
    again = run_cli(env, "ingest", str(corpus), "--classifier", "topics", "--json")
    assert json.loads(again.stdout)["created"] is False

    trained = run_cli(env, "train", "topics", "--model", "ngram", "--json")
    assert trained.returncode == 0, trained.stderr
    assert json.loads(trained.stdout)["version"] == 1

    assert run_cli(env, "deploy", "topics").returncode == 0
    classified = run_cli(env, "classify", "topics", "rain and snow", "--json")
    assert classified.returncode == 0, classified.stderr
    assert json.loads(classified.stdout)["label"] == "weather"


def test_missing_column_is_one_line_naming_the_columns_found(
    env: dict[str, str], tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "c.csv", label_column="category")
    result = run_cli(env, "ingest", str(corpus), "--classifier", "topics")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().count("\n") == 0
    assert "column 'label' not found (columns found: text, category)" in result.stderr


def test_unknown_classifier_is_a_clear_error(env: dict[str, str]) -> None:
    result = run_cli(env, "train", "nope")
    assert result.returncode == 1
    assert "classifier 'nope' does not exist" in result.stderr


def test_init_prints_an_admin_key_once_as_json(env: dict[str, str]) -> None:
    result = run_cli(env, "init", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["api_key"].startswith("tl_")


def test_deploy_refuses_an_unblessed_version_unless_forced(
    env: dict[str, str], tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "c.csv")
    assert run_cli(env, "ingest", str(corpus), "-c", "topics").returncode == 0
    assert run_cli(env, "train", "topics", "--model", "ngram").returncode == 0
    assert run_cli(env, "deploy", "topics").returncode == 0
    worse = run_cli(env, "train", "topics", "--model", "majority")
    assert "NOT blessed" in worse.stdout
    refused = run_cli(env, "deploy", "topics")
    assert refused.returncode == 1
    assert (
        "model version 2 was not blessed against production version 1: accuracy" in refused.stderr
    )
    assert run_cli(env, "deploy", "topics", "--force").returncode == 0


def test_lineage_traces_a_cli_prediction(env: dict[str, str], tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c.csv")
    assert run_cli(env, "ingest", str(corpus), "-c", "topics").returncode == 0
    assert run_cli(env, "train", "topics", "--model", "ngram").returncode == 0
    assert run_cli(env, "deploy", "topics").returncode == 0
    prediction = json.loads(run_cli(env, "classify", "topics", "goal!", "--json").stdout)
    traced = run_cli(env, "lineage", "--prediction", prediction["prediction_id"], "--json")
    assert traced.returncode == 0, traced.stderr
    graph = json.loads(traced.stdout)
    assert graph["model"]["uri"] == "textloop://topics/models/1"
    assert graph["run"]["run"] == 2 and graph["run"]["pipeline"] == "train"
    assert [d["uri"] for d in graph["datasets"]] == ["textloop://topics/datasets/1"]
    tree = run_cli(env, "lineage", "--dataset", "1", "--classifier", "topics")
    assert "trained model textloop://topics/models/1 (ngram, blessed)" in tree.stdout
    assert "consumed by runs 2 (train)" in tree.stdout
    assert "run 2 push [succeeded]" in tree.stdout
    assert "deployment" in tree.stdout
    wrong = run_cli(env, "lineage", "--dataset", "1")
    assert wrong.returncode == 1 and "--dataset needs --classifier" in wrong.stderr


def test_stats_shows_the_statistics_recorded_at_ingest(env: dict[str, str], tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c.csv")
    assert run_cli(env, "ingest", str(corpus), "-c", "topics").returncode == 0
    result = run_cli(env, "stats", "topics", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["dataset_version"] == 1
    assert report["statistics"]["rows"] == 120
    assert report["statistics"]["labels"] == {"finance": 40, "sport": 40, "weather": 40}
    assert report["anomalies"] == []
    human = run_cli(env, "stats", "topics")
    assert "rows 120" in human.stdout and "no anomalies" in human.stdout


def test_runs_list_and_show_what_was_recorded(env: dict[str, str], tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c.csv")
    assert run_cli(env, "ingest", str(corpus), "-c", "topics").returncode == 0
    assert run_cli(env, "train", "topics", "--model", "ngram").returncode == 0
    again = run_cli(env, "train", "topics", "--model", "ngram", "--json")
    assert json.loads(again.stdout)["cached"] is True
    runs = json.loads(run_cli(env, "runs", "list", "topics", "--json").stdout)
    assert [(r["pipeline"], r["status"], r["cached_steps"]) for r in runs] == [
        ("train", "succeeded", 10),
        ("train", "succeeded", 0),
        ("ingest", "succeeded", 0),
    ]
    shown = json.loads(run_cli(env, "runs", "show", str(runs[1]["run"]), "--json").stdout)
    assert shown["classifier"] == "topics" and shown["seconds"] > 0
    steps = {step["step"]: step for step in shown["steps"]}
    assert list(steps) == [
        "dataset",
        "production",
        "statistics",
        "schema",
        "validate",
        "split",
        "tune",
        "train",
        "evaluate",
        "bless",
        "infra_validate",
        "push",
    ]
    assert steps["train"]["after"] == ["split", "tune"]
    assert steps["bless"]["after"] == ["evaluate", "production", "split"]
    assert [a["uri"] for a in steps["push"]["outputs"]] == ["textloop://topics/models/1"]
    assert all(step["status"] == "succeeded" for step in shown["steps"])
    human = run_cli(env, "runs", "show", str(runs[0]["run"]))
    assert "run 3: train of topics succeeded" in human.stdout
    assert "push ← bless, dataset, evaluate, infra_validate, train  cached" in human.stdout
    missing = run_cli(env, "runs", "show", "999")
    assert missing.returncode == 1 and "run 999 does not exist" in missing.stderr


def test_backfill_reruns_from_a_step_over_the_same_data(
    env: dict[str, str], tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "c.csv")
    assert run_cli(env, "ingest", str(corpus), "-c", "topics").returncode == 0
    assert run_cli(env, "train", "topics", "--model", "ngram").returncode == 0
    backfill = run_cli(env, "train", "topics", "--model", "ngram", "--backfill", "--json")
    assert backfill.returncode == 0, backfill.stderr
    report = json.loads(backfill.stdout)
    assert report["version"] == 2 and report["dataset_version"] == 1
    statuses = report["steps"]
    assert [statuses[s] for s in ("statistics", "schema", "validate", "split", "tune")] == [
        "cached"
    ] * 5
    assert [statuses[s] for s in ("train", "evaluate", "bless", "infra_validate", "push")] == [
        "succeeded"
    ] * 5
    wrong = run_cli(env, "train", "topics", "--from-step", "trian")
    assert wrong.returncode == 1
    steps = "dataset, production, pool, statistics"  # auto trains embedding: it reads the pool
    assert f"unknown step 'trian'; the steps are: {steps}" in wrong.stderr


def test_users_create_takes_the_password_from_stdin_and_refuses_bad_input(
    env: dict[str, str], tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "c.csv")
    assert run_cli(env, "ingest", str(corpus), "-c", "topics").returncode == 0
    typo = run_cli(
        env, "users", "create", "rita@example.com", "--classifiers", "topics,tickets",
        "--password-stdin", stdin="a long enough password\n",
    )  # fmt: skip
    assert typo.returncode == 1
    assert "no classifier named 'tickets'; the classifiers are topics" in typo.stderr
    assert run_cli(env, "ingest", str(corpus), "-c", "other").returncode == 0
    created = run_cli(
        env,
        "users",
        "create",
        "Rita@Example.com",
        "--classifiers",
        "topics,other",
        "--password-stdin",
        "--json",
        stdin="a long enough password\n",
    )
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout) == {
        "id": 1,
        "email": "rita@example.com",
        "role": "reviewer",
        "classifiers": ["other", "topics"],
    }
    again = run_cli(env, "users", "create", "rita@example.com", "--password-stdin", stdin="x" * 12)
    assert again.returncode == 1 and "a user 'rita@example.com' exists already" in again.stderr
    short = run_cli(env, "users", "create", "sam@example.com", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    role = run_cli(
        env,
        "users",
        "create",
        "sam@example.com",
        "--role",
        "boss",
        "--password-stdin",
        stdin="y" * 12,
    )
    assert role.returncode == 1 and "role must be one of admin, reviewer" in role.stderr
