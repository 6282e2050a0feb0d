"""Batch jobs: submitted over HTTP or the CLI, run by a worker, followed, downloaded, cancelled;
a worker killed part-way leaves a job its successor finishes with every row exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.batch.conftest import Trained, write_input
from tests.processes import TEXTLOOP, run_cli
from textloop.config import Settings
from textloop.jobs import queue
from textloop.registry.aliases import PRODUCTION, set_alias
from textloop.security.api_keys import create_api_key
from textloop.serving.app import create_app
from textloop.store.tables import BatchJob, Job, utcnow
from textloop.worker import Worker

pytestmark = pytest.mark.slow  # trains an embedding model


@pytest.fixture(scope="module")
def keys(trained: Trained) -> dict[str, str]:
    with trained.store.session() as session:
        return {
            "classify": create_api_key(session, ["classify"]).key,
            "other": create_api_key(session, ["classify"], ["other"]).key,
        }


def api(trained: Trained, settings: Settings | None = None) -> TestClient:
    return TestClient(create_app(settings or trained.settings))


def run_jobs(trained: Trained) -> None:
    worker = Worker(trained.store, trained.settings)
    while worker.run_once():
        pass


def test_an_uploaded_file_is_classified_by_a_worker_and_downloaded(
    trained: Trained, tmp_path: Path, keys: dict[str, str]
) -> None:
    write_input(tmp_path / "in.csv", rows=120)
    headers = {"x-api-key": keys["classify"], "content-type": "text/csv"}
    with api(trained) as client:
        answer = client.post(
            "/v1/classifiers/topics/batch-jobs?format=jsonl&review_below=1&review_limit=3",
            content=(tmp_path / "in.csv").read_bytes(),
            headers=headers,
        )
        assert answer.status_code == 202, answer.text
        job = answer.json()
        assert (job["status"], job["rows_total"], job["rows_done"]) == ("queued", 120, 0)
        assert client.get(f"/v1/batch-jobs/{job['id']}/output", headers=headers).status_code == 409
        run_jobs(trained)
        shown = client.get(f"/v1/batch-jobs/{job['id']}", headers=headers).json()
        assert (shown["status"], shown["rows_done"], shown["rows_failed"]) == ("succeeded", 120, 2)
        assert shown["review_tasks"] == 3 and shown["rows_per_second"] > 0
        output = client.get(f"/v1/batch-jobs/{job['id']}/output", headers=headers)
        assert output.status_code == 200
        assert output.headers["content-type"].startswith("application/x-ndjson")
        assert len(output.text.splitlines()) == 120
        # another tenant's key learns nothing of the job
        other = {"x-api-key": keys["other"]}
        assert client.get(f"/v1/batch-jobs/{job['id']}", headers=other).status_code == 404
        assert client.post(f"/v1/batch-jobs/{job['id']}/cancel", headers=other).status_code == 404
        again = client.post(f"/v1/batch-jobs/{job['id']}/cancel", headers=headers)
        assert again.status_code == 409 and "already succeeded" in again.json()["error"]["message"]
    traced = run_cli(trained.env, "lineage", "--batch-job", job["id"], "--json")
    assert traced.returncode == 0, traced.stderr
    graph = json.loads(traced.stdout)
    assert graph["batch_job"]["input_hash"] and graph["model"]["version"] == 1
    assert graph["datasets"] and graph["datasets"][0]["uri"] == "textloop://topics/datasets/1"
    (step,) = graph["upstream"]
    assert step["component"] == "batch-classify"
    assert {item["type"] for item in step["inputs"]} == {"batch-input", "model"}


def test_a_job_pins_the_model_version_it_was_submitted_with(
    trained: Trained, tmp_path: Path, keys: dict[str, str]
) -> None:
    write_input(tmp_path / "in.csv", rows=30, bad=False)
    headers = {"x-api-key": keys["classify"], "content-type": "text/csv"}
    from textloop.pipeline.training import train_classifier

    with api(trained) as client:
        job = client.post(
            "/v1/classifiers/topics/batch-jobs?format=parquet",
            content=(tmp_path / "in.csv").read_bytes(),
            headers=headers,
        ).json()
        version = train_classifier(trained.store, trained.settings, "topics", "ngram").version
        with trained.store.session() as session:
            set_alias(session, "topics", PRODUCTION, version)  # deployed meanwhile
        try:
            run_jobs(trained)
            output = client.get(f"/v1/batch-jobs/{job['id']}/output", headers=headers)
        finally:
            with trained.store.session() as session:
                set_alias(session, "topics", PRODUCTION, 1)
    (tmp_path / "out.parquet").write_bytes(output.content)
    assert set(pq.read_table(tmp_path / "out.parquet").column("model_version").to_pylist()) == {1}


def test_bad_submissions_are_refused_and_leave_nothing(
    trained: Trained, tmp_path: Path, keys: dict[str, str]
) -> None:
    write_input(tmp_path / "in.csv", rows=10, bad=False)
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    write_input(allowed / "in.csv", rows=10, bad=False)
    (allowed / "escape.csv").symlink_to(tmp_path / "in.csv")
    parts = allowed / "parts"
    parts.mkdir()
    (parts / "a.parquet").symlink_to(tmp_path / "secret.parquet")  # a part that points out
    nested = allowed / "nested"
    (nested / "deeper").mkdir(parents=True)
    (nested / "deeper" / "notes.csv").symlink_to(tmp_path / "in.csv")  # out, two levels down
    piped = allowed / "piped"
    (piped / "deeper").mkdir(parents=True)
    os.mkfifo(piped / "deeper" / "part.parquet")  # would block whoever opens it
    settings = Settings(**{**trained.settings.__dict__, "batch_input_roots": (allowed,)})
    key = {"x-api-key": keys["classify"]}
    csv_body = (tmp_path / "in.csv").read_bytes()
    cases = [
        ("?text_column=body", "text/csv", csv_body, 422, "column 'body' not found"),
        ("?format=xml", "text/csv", csv_body, 422, "unknown format 'xml'"),
        ("", "application/xml", csv_body, 415, "unsupported Content-Type"),
        ("", "text/csv", b"text\ncaf\xe9\n", 422, "invalid UTF-8"),
        ("", "application/vnd.apache.parquet", b"PAR1 nonsense", 422, "not a readable Parquet"),
        ("", "application/json", b'{"input_path": "/etc/passwd"}', 422, "outside the folders"),
        ("", "application/json", f'{{"input_path": "{allowed}/escape.csv"}}'.encode(), 422,
         "outside the folders"),
        ("", "application/json", b'{"path": "x"}', 422, "give input_path"),
        ("", "application/json", b'{"input_path": "/tmp/a\\u0000b"}', 422, "cannot be read"),
        ("", "application/json", f'{{"input_path": "{parts}"}}'.encode(), 422,
         "outside the folders"),
        ("", "application/json", f'{{"input_path": "{nested}"}}'.encode(), 422,
         "deeper/notes.csv in it leads to"),
        ("", "application/json", f'{{"input_path": "{piped}"}}'.encode(), 422,
         "is a FIFO, not a regular file"),
        ("", "text/csv; charset=zlib", csv_body, 415, "'zlib' is not a text encoding"),
        ("", "application/json", b'{"input_path": "' + b"x" * 70_000 + b'"}', 413,
         "at most 65,536 bytes"),
    ]  # fmt: skip
    with trained.store.session() as session:
        jobs_before = session.scalar(select(func.count()).select_from(BatchJob))
    folders = trained.data / "batch"
    folders_before = set(folders.iterdir()) if folders.exists() else set()
    with api(trained, settings) as client:
        for query, media, body, status, message in cases:
            answer = client.post(
                f"/v1/classifiers/topics/batch-jobs{query}",
                content=body,
                headers={**key, "content-type": media},
            )
            assert answer.status_code == status, (query, media, answer.text)
            assert message in answer.json()["error"]["message"], answer.text
        with trained.store.session() as session:
            assert session.scalar(select(func.count()).select_from(BatchJob)) == jobs_before
        assert (set(folders.iterdir()) if folders.exists() else set()) == folders_before
        good = client.post(
            "/v1/classifiers/topics/batch-jobs",
            json={"input_path": str(allowed / "in.csv")},
            headers=key,
        )
        assert good.status_code == 202, good.text
        cancelled = client.post(f"/v1/batch-jobs/{good.json()['id']}/cancel", headers=key)
        assert cancelled.json()["status"] == "cancelled"
        run_jobs(trained)  # the worker finds it cancelled and leaves it so
        assert client.get(f"/v1/batch-jobs/{good.json()['id']}", headers=key).json()["status"] == (
            "cancelled"
        )


def test_a_killed_worker_s_job_finishes_on_the_next_with_every_row_once(
    trained: Trained, tmp_path: Path
) -> None:
    records = write_input(tmp_path / "in.csv", rows=1500, bad=False)
    output = tmp_path / "out.parquet"
    submitted = run_cli(trained.env, "batch-classify", "topics", str(tmp_path / "in.csv"), "-o",
                        str(output), "--chunk-rows", "50", "--background", "--json")  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    store = trained.store

    def chunks_done() -> int:
        with store.session() as session:
            return session.scalars(select(BatchJob)).all()[-1].chunks_done

    with (tmp_path / "worker.log").open("w") as log:
        worker = subprocess.Popen(
            [TEXTLOOP, "worker"], env=trained.env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 120
            while chunks_done() < 3:
                assert time.monotonic() < deadline and worker.poll() is None, "no progress"
                time.sleep(0.02)
            os.kill(worker.pid, signal.SIGKILL)  # in the middle of the job
        finally:
            worker.wait(timeout=30)
    done_before = chunks_done()
    assert 3 <= done_before < 30 and not output.exists()
    with store.session() as session:
        job = session.scalars(select(Job).where(Job.kind == "batch-classify")).all()[-1]
        assert job.status == "running"
        job.heartbeat_at = utcnow() - queue.LEASE - timedelta(seconds=1)  # its lease runs out
    run_jobs(trained)
    with store.session() as session:
        batch = session.scalars(select(BatchJob)).all()[-1]
        assert (batch.status, batch.rows_done, batch.chunks_done) == ("succeeded", 1500, 30)
    ids = pq.read_table(output).column("id").to_pylist()
    assert ids == [r["id"] for r in records]  # every row exactly once, in order
