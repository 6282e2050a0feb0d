"""The client against one real ``textloop serve --with-worker`` process, shared by the module:
every resource group is called the way a program would, and the answers and errors are the
API's own. The server starts with one classifier, ``topics``, uploaded, trained (n-gram) and
deployed through the client; a test that changes more makes a classifier of its own."""

from __future__ import annotations

import asyncio
import csv
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.corpus import write_corpus
from tests.processes import environment, run_cli, running_server
from textloop.client import (
    ApiError,
    AsyncClient,
    AuthenticationError,
    Client,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    Retry,
)
from textloop.client.transport import OnRetry

REVIEWER = "rita@example.com"
SPORT = "the striker scored a goal at the stadium"
TEXTS = [SPORT, "the bank raised interest on the loan", "rain and wind in the forecast"]
FAST = 0.2  # seconds between polls of a job


@dataclass(frozen=True)
class Server:
    url: str
    admin: str  # an admin key
    reviewer: str  # a reviewer's own key (review scope)
    limited: str  # classify, at most one request every two seconds (bursts of one)
    quota: str  # classify, one request a month
    folder: Path

    def client(self, key: str | None = None, on_retry: OnRetry | None = None) -> Client:
        return Client(self.url, key or self.admin, on_retry=on_retry)


def cli_json(env: dict[str, str], *args: str, stdin: str | None = None) -> dict[str, object]:
    done = run_cli(env, *args, "--json", stdin=stdin)
    assert done.returncode == 0, done.stderr
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("client")
    env = environment(folder / "data", f"sqlite:///{folder / 'textloop.db'}")
    env["TEXTLOOP_WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1"
    admin = str(cli_json(env, "init")["api_key"])
    cli_json(env, "users", "create", REVIEWER, "--password-stdin", stdin="a-long-password")
    keys = {
        "reviewer": ("--scopes", "review", "--user", REVIEWER),
        "limited": ("--scopes", "classify", "--rate", "0.5", "--burst", "1"),
        "quota": ("--scopes", "classify", "--quota", "1"),
    }
    made = {
        name: str(cli_json(env, "keys", "create", *how)["api_key"]) for name, how in keys.items()
    }
    with running_server(env, folder / "server.log", "--with-worker") as url:
        with Client(url, admin) as client:
            client.datasets.upload("topics", write_corpus(folder / "topics.csv"))
            client.models.train("topics", model="ngram")
            client.deployments.deploy("topics")
        yield Server(url, admin, made["reviewer"], made["limited"], made["quota"], folder)


def test_classifying_one_text_many_texts_and_with_several_classifiers(server: Server) -> None:
    with server.client() as client:
        one = client.classify("topics", SPORT)
        assert one["label"] == "sport" and set(one["scores"]) == {"sport", "finance", "weather"}
        trimmed = client.classify("topics", SPORT, top_k=1)
        assert list(trimmed["scores"]) == ["sport"]

        many = client.classify_many("topics", TEXTS * 3, batch_size=2)  # five requests
        assert [p["label"] for p in many] == ["sport", "finance", "weather"] * 3

        several = client.classify_with(["topics"], SPORT)
        assert several["topics"]["label"] == "sport"
        each = client.classify_many_with(["topics"], TEXTS)
        assert [p["label"] for p in each["topics"]] == ["sport", "finance", "weather"]

        feedback = client.feedback.report(
            "topics", prediction_id=one["prediction_id"], label="sport"
        )
        assert feedback["feedback_id"] and feedback["review_task_id"]
        upstream = client.lineage.prediction(one["prediction_id"])
        assert upstream["prediction"]["classifier"] == "topics"


def test_an_error_answer_is_raised_with_the_apis_error_shape(server: Server) -> None:
    with server.client() as client:
        with pytest.raises(NotFoundError) as missing:
            client.classifiers.get("nope")
        error = missing.value
        assert (error.status, error.code, error.field) == (404, "not_found", None)
        assert "nope" in error.message
        assert error.request == f"GET {server.url}/v1/classifiers/nope"

        with pytest.raises(InvalidRequestError) as invalid:
            client.classify("topics", "   ")
        assert (invalid.value.status, invalid.value.code) == (422, "validation_error")
        assert invalid.value.field == "text"

    with server.client("tl_not-a-key") as stranger, pytest.raises(AuthenticationError) as denied:
        stranger.classifiers.list()
    assert (denied.value.status, denied.value.code) == (401, "unauthorized")
    assert denied.value.headers["www-authenticate"] == "Bearer"

    with server.client(server.reviewer) as reviewer, pytest.raises(PermissionDeniedError) as no:
        reviewer.classifiers.list()
    assert (no.value.status, no.value.code) == (403, "forbidden")
    assert isinstance(no.value, ApiError)


def test_a_rate_limited_call_waits_the_retry_after_the_server_names_then_succeeds(
    server: Server,
) -> None:
    retries: list[Retry] = []
    with server.client(server.limited, on_retry=retries.append) as client:
        for _ in range(3):  # the bucket holds one request: the second is refused, if not the third
            started = time.monotonic()
            answer = client.classify("topics", SPORT)
            waited = time.monotonic() - started
            if retries:
                break
        usage = client.usage.get()
    (retry,) = retries
    assert retry.status == 429 and retry.retry_after is not None and retry.retry_after >= 1
    assert retry.delay >= retry.retry_after
    assert waited >= retry.retry_after
    assert answer["label"] == "sport"  # admitted once the wait was over
    assert usage["refused"] == 1 and usage["plan"] is not None


def test_a_spent_monthly_quota_is_raised_at_once_not_waited_for(server: Server) -> None:
    retries: list[Retry] = []
    with server.client(server.quota, on_retry=retries.append) as client:
        client.classify("topics", SPORT)
        with pytest.raises(RateLimitError) as spent:
            client.classify("topics", SPORT)
    assert spent.value.code == "quota_exceeded" and retries == []
    assert spent.value.retry_after is not None and spent.value.retry_after > 60
    assert spent.value.headers["x-ratelimit-remaining"] == "0"


def test_a_model_is_uploaded_trained_staged_promoted_shadowed_and_rolled_back(
    server: Server,
) -> None:
    corpus = write_corpus(server.folder / "lifecycle.csv")
    with server.client() as client:
        dataset = client.datasets.upload("lifecycle", corpus, idempotency_key="lifecycle-1")
        assert (dataset["version"], dataset["rows"], dataset["created"]) == (1, 120, True)
        resent = client.datasets.upload("lifecycle", corpus, idempotency_key="lifecycle-1")
        assert resent == dataset  # the first answer, replayed: not ingested again
        assert client.classifiers.get("lifecycle")["production_version"] is None

        first = client.models.train("lifecycle", model="ngram")
        assert (first["version"], first["family"]) == (1, "ngram")
        staged = client.deployments.deploy("lifecycle", 1, alias="staging")
        assert (staged["alias"], staged["version"]) == ("staging", 1)
        assert client.classify("lifecycle", SPORT, alias="staging")["model_version"] == 1
        promoted = client.deployments.promote("lifecycle")
        assert (promoted["alias"], promoted["version"]) == ("production", 1)

        second = client.models.train("lifecycle", model="ngram", no_cache=True)
        deployed = client.deployments.deploy("lifecycle")
        assert (deployed["version"], deployed["previous_version"]) == (second["version"], 1)
        assert client.deployments.set_shadow("lifecycle", 1)["shadow_version"] == 1
        assert client.deployments.shadow("lifecycle")["shadow_version"] == 1
        assert client.deployments.set_shadow("lifecycle", None)["shadow_version"] is None
        back = client.deployments.rollback("lifecycle")
        assert (back["version"], back["previous_version"]) == (1, 2)

        assert [m["version"] for m in client.models.list("lifecycle")] == [1, 2]
        names = [c["name"] for c in client.classifiers.list()]
        assert {"topics", "lifecycle"} <= set(names)
        assert first["run"] is not None
        runs = client.runs.list("lifecycle", limit=50)
        assert first["run"] in [run["run"] for run in runs]
        assert client.runs.get("lifecycle", first["run"])["steps"]
        assert client.lineage.dataset("lifecycle", 1)
        assert "reports" in client.monitoring.drift("lifecycle")


def test_feedback_review_and_the_pool(server: Server) -> None:
    unlabelled = [
        f"a {word} was in the news on day {n}" for n in range(4) for word in ("goal", "loan")
    ]
    with server.client() as admin, server.client(server.reviewer) as reviewer:
        pooled = admin.pool.add("topics", unlabelled)
        assert pooled["added"] == len(unlabelled)
        sampled = admin.pool.sample("topics", n=2, strategy="least-confidence")
        assert len(sampled) == 2 and {t["text"] for t in sampled} <= set(unlabelled)
        open_ids = {task["id"] for task in admin.review.tasks("topics", limit=1000)}
        assert {task["id"] for task in sampled} <= open_ids

        held = reviewer.review.claim("topics")
        assert held is not None
        decided = reviewer.review.decide(held["id"], "sport")
        assert decided["id"] == held["id"]
        skipped_task = reviewer.review.claim("topics")
        assert skipped_task is not None and skipped_task["id"] != held["id"]
        assert reviewer.review.skip(skipped_task["id"])["id"] == skipped_task["id"]
        exported = admin.review.export("topics").decode()
        assert held["id"] in exported
        jsonl = admin.review.export("topics", format="jsonl").decode().splitlines()
        assert any(json.loads(line)["task_id"] == held["id"] for line in jsonl)

        corrections = b"text,label\nsnow and storms all week,weather\n"
        recorded = admin.feedback.upload_corrections("topics", corrections, content_type="text/csv")
        assert (recorded["rows"], recorded["created"]) == (1, True)
        again = admin.feedback.upload_corrections("topics", corrections, content_type="text/csv")
        assert again["created"] is False


def write_input(path: Path, rows: int) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows((n, TEXTS[n % 3]) for n in range(rows))
    return path


def test_a_batch_job_is_submitted_waited_for_and_downloaded(server: Server, tmp_path: Path) -> None:
    with server.client() as client:
        job = client.batch_jobs.submit(
            "topics", write_input(tmp_path / "in.csv", 12), id_column="id", format="csv"
        )
        assert (job["status"], job["rows_total"]) == ("queued", 12)
        done = client.batch_jobs.wait(job["id"], timeout=120, poll_interval=FAST)
        assert (done["status"], done["rows_done"]) == ("succeeded", 12)
        assert client.batch_jobs.get(job["id"])["status"] == "succeeded"

        saved = client.batch_jobs.download(job["id"], tmp_path / "out.csv")
        assert saved == tmp_path / "out.csv"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]  # no .part
        rows = list(csv.DictReader(saved.read_text().splitlines()))
        assert len(rows) == 12 and rows[0]["id"] == "0"
        assert client.batch_jobs.output(job["id"]) == saved.read_bytes()

        with pytest.raises(ConflictError) as finished:
            client.batch_jobs.cancel(job["id"])
        assert "already succeeded" in finished.value.message
        with pytest.raises(InvalidRequestError) as unread:
            client.batch_jobs.submit("topics", input_path="/etc/passwd")
        assert unread.value.field == "input_path"


def test_retrain_jobs_events_webhooks_usage_audit_and_health(server: Server) -> None:
    with server.client() as client:
        hook = client.webhooks.create("http://127.0.0.1:9/hook", "a-shared-secret-of-16+")
        assert hook["active"] and hook["classifier"] is None
        assert client.webhooks.disable(hook["id"])["active"] is False
        assert client.webhooks.enable(hook["id"])["active"] is True
        assert client.webhooks.delete(hook["id"]) is None
        with pytest.raises(NotFoundError):
            client.webhooks.delete(hook["id"])
        assert isinstance(client.webhooks.deliveries(limit=5), list)

        client.datasets.upload("retrained", write_corpus(server.folder / "retrained.csv"))
        queued = client.jobs.retrain("retrained", model="ngram")
        assert queued["status"] == "queued"
        job = client.jobs.wait(queued["id"], timeout=120, poll_interval=FAST)
        assert job["status"] == "succeeded" and job["result"] is not None
        assert client.jobs.get(queued["id"])["id"] == queued["id"]
        with pytest.raises(InvalidRequestError, match="no dataset version"):
            client.jobs.backfill("retrained", since="2999-01-01")

        events = list(client.events.iterate(classifier="retrained"))
        types = [event["type"] for event in events]
        assert "run.started" in types and "run.succeeded" in types
        one_by_one = list(client.events.iterate(classifier="retrained", page_size=1))
        assert one_by_one == events  # the cursor followed page by page
        page = client.events.page(after=events[-1]["id"], classifier="retrained")
        assert page == {"events": [], "next": events[-1]["id"]}  # caught up

        mine = client.usage.get()
        assert mine["plan"] is None
        every = client.usage.keys()
        assert mine["key_id"] in [key["key_id"] for key in every["keys"]]
        assert client.usage.get(key_id=mine["key_id"])["prefix"] == mine["prefix"]

        newest = client.audit.page(limit=1)
        assert len(newest["entries"]) == 1 and newest["next"] is not None
        older = client.audit.page(before_id=newest["next"], limit=1)
        assert older["entries"][0]["id"] < newest["entries"][0]["id"]
        assert client.audit.page(action="webhooks", limit=100)["entries"]

        assert "textloop_" in client.monitoring.metrics()
        assert client.health.live() and client.health.ready()


def test_the_async_client_awaits_the_same_methods(server: Server, tmp_path: Path) -> None:
    async def use() -> None:
        async with AsyncClient(server.url, server.admin) as client:
            assert (await client.classify("topics", SPORT))["label"] == "sport"
            many = await client.classify_many("topics", TEXTS, batch_size=2)
            assert [p["label"] for p in many] == ["sport", "finance", "weather"]
            assert "topics" in [c["name"] for c in await client.classifiers.list()]
            with pytest.raises(NotFoundError):
                await client.models.list("nope")
            events = [event async for event in client.events.iterate(page_size=5)]
            assert events and [e["id"] for e in events] == sorted(e["id"] for e in events)

            job = await client.batch_jobs.submit("topics", write_input(tmp_path / "in.csv", 3))
            await client.batch_jobs.wait(job["id"], timeout=120, poll_interval=FAST)
            saved = await client.batch_jobs.download(job["id"], tmp_path / "out.csv")
            assert len(saved.read_text().splitlines()) == 4
            assert await client.health.ready()

    asyncio.run(use())
