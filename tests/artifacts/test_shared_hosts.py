"""Hosts that share a database and an S3 artifact store, and nothing on disk: what one trains,
another serves from its own cache; a store that does not answer changes nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
import s3fs

from tests.corpus import write_corpus
from tests.processes import environment, free_port, run_cli, running_server
from tests.s3_server import S3Server
from textloop.config import Settings
from textloop.store import open_store
from textloop.store.tables import ModelVersion

pytestmark = pytest.mark.usefixtures("s3_credentials")


def host(tmp_path: Path, name: str, database_url: str, root: str, s3: S3Server) -> dict[str, str]:
    env = environment(tmp_path / name, database_url)
    env.update(s3.environment(), TEXTLOOP_ARTIFACT_ROOT=root)
    return env


def model_versions(database_url: str, data_dir: Path) -> int:
    store = open_store(Settings.load(data_dir, database_url))
    try:
        with store.session() as session:
            return session.query(ModelVersion).count()
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hosts")


@pytest.fixture(scope="module")
def trained(s3: S3Server, shared: Path) -> tuple[str, str]:
    """``topics`` trained and deployed by host ``a``: the database URL and the store's URL."""
    tmp_path = shared
    database_url = f"sqlite:///{tmp_path / 'shared.db'}"
    root = f"s3://{s3.bucket()}/textloop"
    a = host(tmp_path, "a", database_url, root, s3)
    corpus = write_corpus(tmp_path / "c.csv")
    assert run_cli(a, "ingest", str(corpus), "-c", "topics").returncode == 0
    done = run_cli(a, "train", "topics", "--model", "ngram", "--deploy", "--json")
    assert done.returncode == 0, done.stderr
    return database_url, root


def test_a_model_trained_on_one_host_is_served_by_another(
    s3: S3Server, shared: Path, trained: tuple[str, str]
) -> None:
    database_url, root = trained
    tmp_path = shared
    assert not (tmp_path / "a" / "artifacts" / "classifiers").exists()  # nothing kept locally
    b = host(tmp_path, "b", database_url, root, s3)
    classified = run_cli(b, "classify", "topics", "rain and snow", "--json")
    assert classified.returncode == 0, classified.stderr
    assert json.loads(classified.stdout)["label"] == "weather"
    cached = [p for p in (tmp_path / "b" / "cache" / "artifacts").iterdir() if p.is_dir()]
    assert [p.name for p in cached if not p.name.startswith(".")]  # read through b's cache


def test_an_unreachable_store_fails_training_with_one_line_and_records_no_model(
    s3: S3Server, shared: Path, trained: tuple[str, str]
) -> None:
    database_url, root = trained
    tmp_path = shared
    before = model_versions(database_url, tmp_path / "a")
    gone = host(tmp_path, "a", database_url, root, s3)
    gone["TEXTLOOP_S3_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    failed = run_cli(gone, "train", "topics", "--model", "ngram", "--deploy")
    assert failed.returncode == 1
    last = failed.stderr.strip().splitlines()[-1]  # after the steps' progress bars
    assert last.startswith(f"error: artifact store {root} is unreachable: "), failed.stderr
    assert model_versions(database_url, tmp_path / "a") == before


def test_a_batch_uploaded_to_one_host_is_run_by_a_worker_on_another_and_downloaded_anywhere(
    s3: S3Server, shared: Path, trained: tuple[str, str]
) -> None:
    database_url, root = trained
    a, b = (host(shared, name, database_url, root, s3) for name in ("a", "b"))
    key = json.loads(run_cli(b, "keys", "create", "--scopes", "classify", "--json").stdout)
    headers = {"x-api-key": key["api_key"], "content-type": "text/csv"}
    texts = [f"heavy rain and snow in report {n}" for n in range(25)]
    body = "text\n" + "\n".join(texts) + "\n"
    with running_server(b, shared / "b-batch.log") as base:
        submitted = httpx.post(
            f"{base}/v1/classifiers/topics/batch-jobs", content=body, headers=headers, timeout=30
        )
        assert submitted.status_code == 202, submitted.text
        job = submitted.json()["id"]
        # these hosts share one disk here; what b keeps of the job is out of a's reach anyway
        hidden = shared / "b-batch-hidden"
        (shared / "b" / "batch" / job).rename(hidden)
        ran = run_cli(a, "worker", "--once")  # host a: only the store and the database in common
        assert ran.returncode == 0, ran.stderr
        shown = httpx.get(f"{base}/v1/batch-jobs/{job}", headers=headers, timeout=30).json()
        assert shown["status"] == "succeeded", shown
        output = httpx.get(f"{base}/v1/batch-jobs/{job}/output", headers=headers, timeout=30)
    assert output.status_code == 200, output.text
    rows = output.text.strip().splitlines()
    assert len(rows) == 1 + len(texts) and all("weather" in row for row in rows[1:])
    assert not (shared / "a" / "batch" / job).exists()  # the worker's scratch is gone
    assert not (shared / "b" / "batch" / job).exists()  # b handed out the store's copy


def test_a_replica_that_cannot_load_a_new_model_keeps_serving_the_one_it_has(
    s3: S3Server, shared: Path, trained: tuple[str, str]
) -> None:
    database_url, root = trained
    a, b = (host(shared, name, database_url, root, s3) for name in ("a", "b"))
    worse = run_cli(a, "train", "topics", "--model", "majority", "--json")
    assert worse.returncode == 0, worse.stderr
    version = json.loads(worse.stdout)["version"]
    key = json.loads(run_cli(b, "keys", "create", "--scopes", "classify", "--json").stdout)
    headers = {"x-api-key": key["api_key"]}
    watcher = json.loads(run_cli(b, "keys", "create", "--scopes", "metrics", "--json").stdout)
    with running_server(b, shared / "b.log") as base:
        url = f"{base}/v1/classifiers/topics/classify"
        before = httpx.post(url, json={"text": "rain and snow"}, headers=headers, timeout=30)
        assert before.json()["model_version"] == 1
        # the new version's files vanish from the store; production is moved to it anyway
        files = s3fs.S3FileSystem(endpoint_url=s3.endpoint)
        files.rm(f"{root.removeprefix('s3://')}/classifiers/topics/models/{version}", True)
        moved = run_cli(a, "deploy", "topics", "--version", str(version), "--force")
        assert moved.returncode == 0, moved.stderr
        deadline = time.monotonic() + 30
        while not (reported := not_loaded(base, watcher["api_key"])):
            assert time.monotonic() < deadline, "the replica never reported the failed load"
            time.sleep(0.2)
        assert 'classifier="topics"' in reported[0] and f'version="{version}"' in reported[0]
        for _ in range(10):
            answer = httpx.post(url, json={"text": "rain and snow"}, headers=headers, timeout=30)
            assert answer.status_code == 200, answer.text
            assert answer.json()["model_version"] == 1
    assert "which this server cannot load" in (shared / "b.log").read_text()
    assert run_cli(a, "rollback", "topics").returncode == 0  # back to version 1 for the rest


def not_loaded(base: str, key: str) -> list[str]:
    metrics = httpx.get(f"{base}/metrics", headers={"x-api-key": key}, timeout=5).text
    return [line for line in metrics.splitlines() if line.startswith("textloop_deployment_not_")]
