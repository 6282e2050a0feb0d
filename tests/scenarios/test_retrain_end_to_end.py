"""Retraining against a real ``textloop serve --with-worker`` process, triggered over HTTP.

On SQLite: the several-hosts scenario runs a retrain queued over HTTP by a worker on PostgreSQL.
"""

import json
import time
from pathlib import Path

import httpx

from tests.corpus import write_corpus
from tests.processes import environment, run_cli, running_server
from tests.webhook_receiver import Receiver

SECRET = "the-receivers-shared-secret"


def wait_for_job(http: httpx.Client, job: int, headers: dict[str, str]) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = http.get(f"/v1/jobs/{job}", headers=headers).json()
        if state["status"] in ("succeeded", "dead"):
            return state
        time.sleep(0.3)
    raise AssertionError(f"job {job} did not finish: {state}")


def test_a_retrain_queued_over_http_is_run_by_the_servers_worker_and_reported(
    tmp_path: Path, database_url: str
) -> None:
    env = environment(tmp_path / "data", database_url)
    env["TEXTLOOP_WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1"  # where the webhook receiver listens
    admin = {"x-api-key": json.loads(run_cli(env, "init", "--json").stdout)["api_key"]}
    corpus = write_corpus(tmp_path / "corpus.csv")
    assert run_cli(env, "ingest", str(corpus), "-c", "topics").returncode == 0
    trained = run_cli(env, "train", "topics", "--model", "ngram", "--deploy")
    assert trained.returncode == 0, trained.stderr
    policy = run_cli(env, "retrain-policy", "topics", "--deploy", "manual", "--json")
    assert json.loads(policy.stdout)["deploy_mode"] == "manual"

    with (
        Receiver.running() as receiver,
        running_server(env, tmp_path / "server.log", "--with-worker") as base,
        httpx.Client(base_url=base, timeout=30) as http,
    ):
        hook = {"url": receiver.url, "secret": SECRET, "classifier": "topics"}
        assert http.post("/v1/webhooks", json=hook, headers=admin).status_code == 201
        queued = http.post("/v1/classifiers/topics/retrain", json={"model": "ngram"}, headers=admin)
        assert queued.status_code == 202, queued.text
        job = wait_for_job(http, queued.json()["id"], admin)
        assert job["status"] == "succeeded", job["error"]
        assert job["result"]["version"] == 2 and not job["result"]["deployed"]

        first = http.get("/v1/events", params={"limit": 2}, headers=admin).json()
        rest = http.get("/v1/events", params={"after": first["next"]}, headers=admin).json()
        types = [e["type"] for e in first["events"] + rest["events"]]
        # train --deploy's, from before the webhook existed; then the retrain's
        assert types == ["model.deployed", "run.started", "model.blessed", "run.succeeded"]
        caught_up = http.get("/v1/events", params={"after": rest["next"]}, headers=admin).json()
        assert caught_up == {"events": [], "next": rest["next"]}
        deadline = time.monotonic() + 30
        while len(receiver.received) < len(types) - 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [body["type"] for body in receiver.events(SECRET)] == types[1:]
        log = http.get("/v1/webhooks/deliveries", headers=admin).json()["deliveries"]
        assert {d["status"] for d in log} == {"delivered"}

        nothing = http.post("/v1/classifiers/topics/rollback", headers=admin)
        assert nothing.status_code == 422 and "nothing to roll back to" in nothing.text
        assert run_cli(env, "deploy", "topics").returncode == 0  # manual mode: an admin ships v2
        back = http.post("/v1/classifiers/topics/rollback", headers=admin)
        assert back.status_code == 201, back.text
        assert (back.json()["version"], back.json()["previous_version"]) == (1, 2)

        unknown = http.post("/v1/classifiers/nope/retrain", headers=admin)
        assert unknown.status_code == 404
        future = http.post("/v1/classifiers/topics/backfill", json={"since": "2999-01-01"},
                           headers=admin)  # fmt: skip
        assert future.status_code == 422 and "no dataset version" in future.text
        garbled = http.post("/v1/classifiers/topics/backfill", json={"until": "soon"},
                            headers=admin)  # fmt: skip
        assert garbled.status_code == 422 and garbled.json()["error"]["field"] == "until"
        bad = http.get("/v1/events", params={"type": "run.exploded"}, headers=admin)
        assert bad.status_code == 422 and "unknown event type" in bad.json()["error"]["message"]

    jobs = json.loads(run_cli(env, "jobs", "--json").stdout)
    assert [(j["kind"], j["status"]) for j in jobs] == [("retrain", "succeeded")]
    listed = json.loads(run_cli(env, "events", "--after", "2", "--json").stdout)
    assert [e["type"] for e in listed] == [
        "model.blessed",
        "run.succeeded",
        "model.deployed",  # the admin's `textloop deploy`
        "model.rolled_back",
    ]
    again = json.loads(run_cli(env, "rollback", "topics", "--json").stdout)
    assert (again["version"], again["previous_version"]) == (2, 1)
    refused = run_cli(env, "retrain-policy", "topics", "--deploy", "sometimes")
    assert refused.returncode == 1 and "deploy_mode must be one of auto, manual" in refused.stderr
