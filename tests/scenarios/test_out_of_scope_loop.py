"""A text that fits none of a classifier's labels, through every interface that answers: trained
with its detector (no out-of-scope example), the classifier answers ``"out_of_scope": true`` and
``"label": null`` for it on the CLI, over HTTP, to the client, in a notebook and in a batch (both
engines), and sends it to review; turned off, it answers exactly as a model without a detector."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from tests.corpus import corpus_rows, write_corpus
from tests.processes import environment, run_cli, running_server
from textloop.config import Settings

pytestmark = [
    # Ray's start leaves /dev/null handles for the garbage collector: its, not ours
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

IN_SCOPE = [text for text, _ in corpus_rows(per_label=40)[:2]]  # texts it was trained on
ELSEWHERE = [
    "how long should sourdough bread rise before baking",
    "a poem about the quiet of the moon over the sea",
]
TEXTS = [*IN_SCOPE, *ELSEWHERE]


@dataclass(frozen=True)
class Deployed:
    env: dict[str, str]
    folder: Path
    settings: Settings


def cli_json(env: dict[str, str], *args: str) -> Any:
    done = run_cli(env, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    folder = tmp_path_factory.mktemp("out-of-scope")
    url = f"sqlite:///{folder / 'textloop.db'}"
    env = environment(folder / "data", url) | {"TEXTLOOP_OUT_OF_SCOPE_RECALL": "0.95"}
    cli_json(env, "ingest", str(write_corpus(folder / "topics.csv")), "-c", "topics")
    outside = folder / "elsewhere.csv"
    outside.write_text("text\n" + "".join(f"{text}\n" for text in ELSEWHERE), encoding="utf-8")
    report = cli_json(
        env, "train", "topics", "--model", "embedding", "--out-of-scope-test", str(outside)
    )
    assert report["out_of_scope"]["signs"] == ["probability", "nearest"]
    tested = report["test_metrics"]["out_of_scope"]
    assert 0 < tested["in_scope_kept"] <= 1
    assert tested["out_of_scope_texts"] == len(ELSEWHERE)  # the file's: the split has none
    assert tested["out_of_scope_recall"] == 1.0 and 0 < tested["auroc"] <= 1
    cli_json(env, "deploy", "topics")
    settings = Settings.load(data_dir=folder / "data", database_url=url)
    return Deployed(env, folder, settings)


def test_the_cli_answers_no_label_for_a_text_unlike_any_it_learned_from(
    deployed: Deployed,
) -> None:
    answers = cli_json(deployed.env, "classify", "topics", *TEXTS)
    assert [a["out_of_scope"] for a in answers] == [False, False, True, True]
    assert [a["label"] is None for a in answers] == [False, False, True, True]
    assert all(a["review"] for a in answers[2:])  # a person looks at each
    nearest = max(answers[2]["scores"], key=answers[2]["scores"].get)
    done = run_cli(deployed.env, "classify", "topics", ELSEWHERE[0])
    assert done.stdout.startswith(f"(out of scope; nearest: {nearest})  confidence")
    tasks = cli_json(deployed.env, "review", "tasks", "topics")
    assert {t["text"] for t in tasks if t["source"] == "out_of_scope"} >= set(ELSEWHERE)
    lineage = cli_json(deployed.env, "lineage", "--prediction", answers[2]["prediction_id"])
    assert lineage["prediction"] | {"nearest_label": nearest} == lineage["prediction"]
    assert (lineage["prediction"]["label"], lineage["prediction"]["out_of_scope"]) == (None, True)
    shown = run_cli(deployed.env, "lineage", "--prediction", answers[2]["prediction_id"]).stdout
    assert f"(out of scope; nearest: {nearest}) at " in " ".join(shown.split())  # unwrapped


@pytest.fixture(scope="module")
def server(deployed: Deployed) -> Iterator[tuple[str, str]]:
    key = cli_json(deployed.env, "keys", "create", "--scopes", "classify")
    with running_server(deployed.env, deployed.folder / "server.log") as url:
        yield url, str(key["api_key"])


def test_http_the_client_and_the_notebook_answer_alike(
    deployed: Deployed, server: tuple[str, str]
) -> None:
    from textloop.client import Client
    from textloop.notebook import Workspace

    url, key = server
    answer = httpx.post(
        f"{url}/v1/classifiers/topics/classify",
        json={"texts": TEXTS},
        headers={"x-api-key": key},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    served = answer.json()["predictions"]
    assert [p["out_of_scope"] for p in served] == [False, False, True, True]
    assert [p["label"] for p in served[2:]] == [None, None]
    with Client(url, key) as client:
        one = client.classify("topics", ELSEWHERE[1])
    assert one["out_of_scope"] is True and one["label"] is None
    frame = Workspace(deployed.settings).classify("topics", TEXTS)
    assert frame["out_of_scope"].tolist() == [False, False, True, True]
    assert [label is None for label in frame["label"]] == [False, False, True, True]


def test_a_batch_says_which_rows_fit_no_label_on_both_engines(
    deployed: Deployed, tmp_path: Path
) -> None:
    from textloop.batch.engines import start_ray
    from textloop.batch.run import BatchRequest, classify_file, prepare
    from textloop.store import open_store

    source = tmp_path / "in.csv"
    source.write_text("text\n" + "\n".join(TEXTS) + "\n", encoding="utf-8")
    local = tmp_path / "local.parquet"
    done = run_cli(deployed.env, "batch-classify", "topics", str(source), "-o", str(local))
    assert done.returncode == 0, done.stderr
    table = pq.read_table(local)
    assert table.column("out_of_scope").to_pylist() == [False, False, True, True]
    labels = table.column("predicted_label").to_pylist()
    assert [label is None for label in labels] == [False, False, True, True]
    assert None not in table.column("top1_label").to_pylist()  # the nearest, for reference

    import ray

    start_ray(num_cpus=2)
    store = open_store(deployed.settings)
    try:
        request = BatchRequest("topics", source, tmp_path / "ray.parquet", engine="ray")
        classify_file(store, deployed.settings, prepare(store, request))
    finally:
        ray.shutdown()
        store.dispose()
    theirs = pq.read_table(tmp_path / "ray.parquet")
    for column in ("out_of_scope", "predicted_label", "confidence"):
        assert theirs.column(column).to_pylist() == table.column(column).to_pylist()


def test_a_batch_s_review_suggests_the_nearest_label_in_the_foreground_and_as_a_job(
    deployed: Deployed, tmp_path: Path
) -> None:
    """A row out of scope goes to review, however sure the model was, as an out-of-scope task
    suggesting its nearest label (never an empty one), from a run in the foreground and from a
    durable job alike; a row in scope and surer than the threshold does not."""
    from sqlalchemy import delete, select

    from textloop.batch.jobs import submit
    from textloop.batch.run import BatchRequest
    from textloop.store import open_store
    from textloop.store.tables import ReviewTask
    from textloop.worker import Worker

    source = tmp_path / "in.csv"
    source.write_text("text\n" + "\n".join([*ELSEWHERE, IN_SCOPE[0]]) + "\n", encoding="utf-8")
    output = tmp_path / "reviewed.parquet"
    done = run_cli(deployed.env, "batch-classify", "topics", str(source), "-o", str(output),
                   "--review-below", "0.01", "--review-limit", "10")  # fmt: skip
    assert done.returncode == 0, done.stderr
    written = pq.read_table(output)
    assert min(written.column("confidence").to_pylist()) >= 0.01  # only being aside counts
    nearest = dict(zip(ELSEWHERE, written.column("top1_label").to_pylist()[:2], strict=True))
    store = open_store(deployed.settings)
    try:
        with store.session() as session:
            tasks = session.scalars(select(ReviewTask).where(ReviewTask.prediction_id.is_(None)))
            foreground = {(t.text, t.source): t.suggested_label for t in tasks}
            session.execute(delete(ReviewTask).where(ReviewTask.prediction_id.is_(None)))
        request = BatchRequest(
            "topics", source, tmp_path / "job.parquet", review_below=0.01, review_limit=10
        )
        submit(store, deployed.settings, request)
        worker = Worker(store, deployed.settings)
        while worker.run_once():
            pass
        with store.session() as session:
            tasks = session.scalars(select(ReviewTask).where(ReviewTask.prediction_id.is_(None)))
            job = {(t.text, t.source): t.suggested_label for t in tasks}
    finally:
        store.dispose()
    expected = {(text, "out_of_scope"): label for text, label in nearest.items()}
    assert foreground == job == expected and None not in nearest.values()


def test_turned_off_it_answers_exactly_as_a_model_without_a_detector(
    deployed: Deployed, tmp_path: Path
) -> None:
    on = cli_json(deployed.env, "classify", "topics", *TEXTS)
    state = cli_json(deployed.env, "out-of-scope", "topics", "--off")
    assert state["out_of_scope"] is False and state["detector"]["recall"] == 0.95
    try:
        off = cli_json(deployed.env, "classify", "topics", *TEXTS)
        source = tmp_path / "in.csv"
        source.write_text("text\n" + "\n".join(TEXTS) + "\n", encoding="utf-8")
        output = tmp_path / "off.parquet"
        done = run_cli(deployed.env, "batch-classify", "topics", str(source), "-o", str(output))
        assert done.returncode == 0, done.stderr
        columns = pq.read_table(output).column_names
    finally:
        cli_json(deployed.env, "out-of-scope", "topics", "--on")
    for was, now in zip(on, off, strict=True):
        assert "out_of_scope" not in now
        assert now["label"] == max(was["scores"], key=was["scores"].get)  # the nearest label
        assert (now["confidence"], now["scores"]) == (was["confidence"], was["scores"])
    assert "out_of_scope" not in columns and columns[:3] == [
        "text",
        "predicted_label",
        "confidence",
    ]


def test_the_portal_asks_a_reviewer_to_choose_with_nothing_one_key_away(
    deployed: Deployed,
) -> None:
    """An out-of-scope task says why it is there, and its nearest label is only that: Enter
    confirms nothing, and "None of these" is a decision the reviewer can make."""
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from tests.serving.portal import PASSWORD, sign_in
    from textloop.security.accounts import create_user
    from textloop.serving.app import create_app
    from textloop.store import open_store
    from textloop.store.tables import ReviewTask

    cli_json(deployed.env, "classify", "topics", ELSEWHERE[0])
    store = open_store(deployed.settings)
    try:
        with store.session() as session:
            create_user(session, "oona@example.com", PASSWORD, "reviewer")
            task = session.scalars(
                select(ReviewTask).where(ReviewTask.source == "out_of_scope")
            ).first()
            assert task is not None and task.suggested_label is not None
            nearest = task.suggested_label
        with TestClient(create_app(deployed.settings)) as client:
            sign_in(client, "oona@example.com")
            page = client.get("/queues/topics/next").text
    finally:
        store.dispose()
    assert "unlike every text it learned from" in page
    assert 'data-explicit="true"' in page  # the script pre-confirms nothing
    assert "nearest label; out of scope" in page and nearest in page


def test_the_models_page_shows_what_the_out_of_scope_test_measured(deployed: Deployed) -> None:
    from fastapi.testclient import TestClient

    from tests.serving.portal import PASSWORD, sign_in
    from textloop.security.accounts import create_user
    from textloop.serving.app import create_app
    from textloop.store import open_store

    store = open_store(deployed.settings)
    try:
        with store.session() as session:
            create_user(session, "ada@example.com", PASSWORD, "admin")
        with TestClient(create_app(deployed.settings)) as client:
            sign_in(client, "ada@example.com")
            page = client.get("/admin/models").text
    finally:
        store.dispose()
    assert "Out of scope: texts that fit none of the labels" in page
    for measure in ("out-of-scope recall", "out-of-scope precision", "AUROC"):
        assert measure in page
