"""``textloop bench``: the real server under load from the real CLI, on a real SQLite file.

Timings vary from machine to machine, so these tests check the shape and the arithmetic of the
report, never how fast anything was.
"""

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.corpus import write_corpus
from tests.processes import environment, run_cli, running_server
from textloop.config import Settings
from textloop.store import open_store
from textloop.store.tables import ApiKey


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """``topics`` trained (ngram) and deployed; ``undeployed`` ingested only."""
    root = tmp_path_factory.mktemp("bench")
    env = environment(root / "data", f"sqlite:///{root / 'textloop.db'}")
    corpus = write_corpus(root / "corpus.csv")
    for name in ("topics", "undeployed"):
        assert run_cli(env, "ingest", str(corpus), "--classifier", name).returncode == 0
    trained = run_cli(env, "train", "topics", "--model", "ngram", "--deploy", "--json")
    assert trained.returncode == 0, trained.stderr
    return env


def stored_keys(env: dict[str, str]) -> list[str]:
    settings = Settings.load(env["TEXTLOOP_DATA_DIR"], env["TEXTLOOP_DATABASE_URL"])
    store = open_store(settings)
    try:
        with store.session() as session:
            return list(session.scalars(select(ApiKey.name)))
    finally:
        store.dispose()


def test_reports_each_concurrency_level_with_latency_cost_and_server_usage(
    env: dict[str, str],
) -> None:
    result = run_cli(env, "bench", "topics", "--concurrency", "1,4", "--duration", "1", "--json")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [phase["concurrency"] for phase in report["results"]] == [1, 4]
    assert report["texts"] > 0
    assert report["server"]["started_by_bench"] is True
    assert report["server"]["ready_seconds"] > 0
    for phase in report["results"]:
        assert phase["requests"] > 0
        assert phase["errors"] == 0
        assert phase["p50_ms"] <= phase["p95_ms"] <= phase["p99_ms"]
        assert phase["throughput"] == pytest.approx(phase["requests"] / phase["elapsed"])
        assert phase["cost_per_million"] > 0 and phase["cost_basis"] == "server CPU time"
        vcpu_second = report["price_per_hour"] / report["vcpus"] / 3600
        cpu_seconds = phase["server_cpu_ms_per_request"] / 1000
        assert phase["cost_per_million"] == pytest.approx(vcpu_second * cpu_seconds * 1e6)
        assert phase["server_cpu_percent"] > 0
        assert phase["server_rss_mib"] > 0
    if len(os.sched_getaffinity(0)) > 1:  # the load generator and the server apart
        assert report["cores"].startswith("client on cores")


def test_stops_its_server_and_deletes_its_temporary_key(env: dict[str, str]) -> None:
    result = run_cli(env, "bench", "topics", "--concurrency", "1", "--duration", "0.5", "--json")

    assert result.returncode == 0, result.stderr
    assert not Path(f"/proc/{json.loads(result.stdout)['server']['pid']}").exists()
    assert "textloop bench" not in stored_keys(env)


def test_prints_a_table_and_sends_the_texts_of_a_file(env: dict[str, str], tmp_path: Path) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("rain and snow tomorrow\n\nthe striker scored a goal\n", encoding="utf-8")
    price = "0.5"

    result = run_cli(
        env, "bench", "topics", "--concurrency", "2", "--duration", "0.5", "--texts", str(texts),
        "--price-per-hour", price,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    for header in ("users", "req/s", "p50 ms", "p99 ms", "errors", "CPU %", "RSS MiB", "$/M req"):
        assert header in result.stdout
    assert "2 texts" in result.stdout
    assert f"${price} an hour" in result.stdout


def test_loads_a_server_already_running_and_leaves_its_usage_unmeasured_without_a_pid(
    env: dict[str, str], tmp_path: Path
) -> None:
    key = json.loads(run_cli(env, "keys", "create", "--scopes", "classify", "--json").stdout)

    with running_server(env, tmp_path / "server.log") as base:
        result = run_cli(
            env, "bench", "topics", "--url", base, "--api-key", key["api_key"],
            "--concurrency", "2", "--duration", "0.5", "--json",
        )  # fmt: skip

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["url"], report["server"]["started_by_bench"]) == (base, False)
    (phase,) = report["results"]
    assert phase["requests"] > 0 and phase["errors"] == 0
    assert (phase["server_cpu_percent"], phase["server_rss_mib"]) == (None, None)


def test_a_key_the_server_refuses_is_one_clear_error(env: dict[str, str], tmp_path: Path) -> None:
    with running_server(env, tmp_path / "server.log") as base:
        result = run_cli(env, "bench", "topics", "--url", base, "--api-key", "tl_wrong")

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: the server answered 401 to a first request: invalid or revoked API key"
    )


@pytest.mark.parametrize("levels", ["0", "abc", "1,,8", "4,-1", ""])
def test_a_bad_concurrency_list_is_one_line_and_a_non_zero_exit(
    env: dict[str, str], levels: str
) -> None:
    result = run_cli(env, "bench", "topics", "--concurrency", levels)

    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.strip().count("\n") == 0
    assert "--concurrency takes positive whole numbers" in result.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--duration", "0"], "--duration must be more than 0 seconds"),
        (["--url", "http://127.0.0.1:1"], "--url needs --api-key"),
        (["--api-key", "tl_x"], "--api-key and --server-pid go with --url"),
        (["--workers", "0"], "--workers must be at least 1"),
    ],
)
def test_contradictory_options_are_refused_before_anything_starts(
    env: dict[str, str], options: list[str], message: str
) -> None:
    result = run_cli(env, "bench", "topics", *options)

    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert message in result.stderr


def test_an_unknown_classifier_is_a_clear_error(env: dict[str, str]) -> None:
    result = run_cli(env, "bench", "nope", "--duration", "0.5")

    assert result.returncode == 1
    assert result.stderr.strip() == "error: classifier 'nope' does not exist"


def test_a_classifier_without_a_deployed_model_is_a_clear_error(env: dict[str, str]) -> None:
    result = run_cli(env, "bench", "undeployed", "--duration", "0.5")

    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "classifier 'undeployed' has no deployed model" in result.stderr
