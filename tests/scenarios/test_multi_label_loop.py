"""A multi-label classifier from file to answers, through every interface a user has: ingested
with ``--multi-label``, trained and deployed by the CLI, then asked by the CLI, over HTTP, by the
client, in a notebook, in a batch (both engines) and from an exported bundle. Every one of them
answers the same label set, possibly empty, where a single-label classifier answers one label."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from tests.corpus import write_label_sets
from tests.processes import environment, run_cli, running_server
from textloop.config import Settings

pytestmark = [
    # Ray's start leaves /dev/null handles for the garbage collector: its, not ours
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

# the corpus's own kind of text: none, one or two topics
TEXTS = [
    "the striker scored a goal at the stadium and the bank raised interest",
    "rain and wind in the forecast",
    "what happens to the weekend when the neighbour moves",
]


@dataclass(frozen=True)
class Deployed:
    env: dict[str, str]
    folder: Path
    settings: Settings


def cli_json(env: dict[str, str], *args: str) -> object:
    done = run_cli(env, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    folder = tmp_path_factory.mktemp("multi-label")
    url = f"sqlite:///{folder / 'textloop.db'}"
    env = environment(folder / "data", url)
    corpus = write_label_sets(folder / "topics.csv", texts=400)
    cli_json(env, "ingest", str(corpus), "-c", "topics", "--multi-label")
    report = cli_json(env, "train", "topics", "--model", "ngram")
    assert isinstance(report, dict)
    assert report["test_metrics"]["headline"] == "micro_f1"
    assert report["test_metrics"]["micro_f1"] > 0.8
    assert set(report["calibration"]["thresholds"]) == {"finance", "sport", "weather"}
    cli_json(env, "deploy", "topics")
    return Deployed(env, folder, Settings.load(data_dir=folder / "data", database_url=url))


def cli_answers(deployed: Deployed) -> list[dict[str, object]]:
    answers = cli_json(deployed.env, "classify", "topics", *TEXTS)
    assert isinstance(answers, list)
    return answers


def test_the_cli_answers_each_text_with_its_set_of_labels(deployed: Deployed) -> None:
    answers = cli_answers(deployed)
    assert [a["labels"] for a in answers] == [["finance", "sport"], ["weather"], []]
    assert all("label" not in a for a in answers)
    assert all(0 < a["confidence"] <= 1 for a in answers)  # type: ignore[operator]
    assert all(set(a["scores"]) == {"finance", "sport", "weather"} for a in answers)  # type: ignore[arg-type]
    done = run_cli(deployed.env, "classify", "topics", TEXTS[2])
    assert done.stdout.startswith("(none)  confidence")


def test_a_family_that_cannot_learn_sets_is_refused_before_anything_runs(
    deployed: Deployed,
) -> None:
    before = cli_json(deployed.env, "runs", "list", "topics")
    done = run_cli(deployed.env, "train", "topics", "--model", "majority")
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "error: majority cannot learn label sets; a multi-label classifier trains with "
        "embedding, ensemble, finetuned, ngram or auto"
    ]
    assert cli_json(deployed.env, "runs", "list", "topics") == before


@pytest.fixture(scope="module")
def server(deployed: Deployed) -> Iterator[tuple[str, str]]:
    key = cli_json(deployed.env, "keys", "create", "--scopes", "classify,feedback")
    assert isinstance(key, dict)
    with running_server(deployed.env, deployed.folder / "server.log") as url:
        yield url, str(key["api_key"])


def test_http_and_the_client_answer_the_same_sets_as_the_cli(
    deployed: Deployed, server: tuple[str, str]
) -> None:
    from textloop.client import Client

    url, key = server
    answer = httpx.post(
        f"{url}/v1/classifiers/topics/classify",
        json={"texts": TEXTS},
        headers={"x-api-key": key},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    served = answer.json()["predictions"]
    expected = cli_answers(deployed)
    assert [p["labels"] for p in served] == [a["labels"] for a in expected]
    assert [p["confidence"] for p in served] == [a["confidence"] for a in expected]
    # a set less sure than the classifier's threshold (0.5) goes to review, as a label does
    assert [p["review"] for p in served] == [p["confidence"] < 0.5 for p in served]
    with Client(url, key) as client:
        one = client.classify("topics", TEXTS[1])
    assert one["labels"] == ["weather"] and "label" not in one


def test_feedback_and_corrections_over_http_open_explicit_tasks_with_the_reported_sets(
    deployed: Deployed, server: tuple[str, str]
) -> None:
    from textloop.client import Client

    url, key = server
    reported = httpx.post(
        f"{url}/v1/classifiers/topics/feedback",
        json={"text": TEXTS[1], "labels": ["weather", "sport"]},
        headers={"x-api-key": key},
        timeout=60,
    )
    assert reported.status_code == 201, reported.text
    refused = httpx.post(
        f"{url}/v1/classifiers/topics/feedback",
        json={"text": TEXTS[1], "label": "sport"},
        headers={"x-api-key": key},
        timeout=60,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["message"].startswith("'topics' is multi-label: give \"labels\"")
    fixes = f"text,label\n{TEXTS[0]},finance;sport\n{TEXTS[2]},\n".encode()
    with Client(url, key) as client:
        recorded = client.feedback.upload_corrections(
            "topics", fixes, content_type="text/csv", label_separator=";"
        )
    assert recorded["review_tasks"] == 2
    done = run_cli(deployed.env, "review", "tasks", "topics", "--status", "all", "--limit",
                   "1000", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    explicit = {t["text"]: t for t in json.loads(done.stdout) if t["source"] == "explicit"}
    assert {text: task["reported_label"] for text, task in explicit.items()} == {
        TEXTS[1]: "sport|weather",
        TEXTS[0]: "finance|sport",
        TEXTS[2]: "",  # an empty cell: no label applies
    }
    # each text scored as a set by the production model: its own answer, as classify gives it
    assert [explicit[text]["suggested_label"] for text in TEXTS] == [
        "finance|sport", "weather", "",
    ]  # fmt: skip


def test_the_notebook_answers_a_list_of_labels_per_text(deployed: Deployed) -> None:
    from textloop.notebook import Workspace

    workspace = Workspace(deployed.settings)
    frame = workspace.classify("topics", TEXTS)
    assert list(frame.columns) == ["text", "labels", "confidence", "review", "prediction_id"]
    assert frame["labels"].tolist() == [["finance", "sport"], ["weather"], []]


def test_a_batch_gives_the_set_and_every_label_s_score_on_both_engines(
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
    assert table.column("predicted_labels").to_pylist() == ["finance|sport", "weather", ""]
    assert {"score:finance", "score:sport", "score:weather"} <= set(table.column_names)
    assert "predicted_label" not in table.column_names

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
    for column in ("predicted_labels", "confidence", "score:sport"):
        assert theirs.column(column).to_pylist() == table.column(column).to_pylist()

    # the rows less sure of their set than --review-below go to review, as single labels do
    reviewed = run_cli(deployed.env, "batch-classify", "topics", str(source), "-o",
                       str(tmp_path / "reviewed.parquet"), "--review-below", "0.5",
                       "--review-limit", "10", "--json")  # fmt: skip
    assert reviewed.returncode == 0, reviewed.stderr
    unsure = [c for c in table.column("confidence").to_pylist() if c < 0.5]
    assert json.loads(reviewed.stdout)["review_tasks"] == len(unsure)


def test_an_exported_bundle_answers_the_same_sets(deployed: Deployed, tmp_path: Path) -> None:
    exported = cli_json(deployed.env, "export", "topics", "--out", str(tmp_path / "bundle"))
    assert isinstance(exported, dict)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "bundle" / "predict.py"), *TEXTS],
        capture_output=True,
        text=True,
        check=True,
    )
    bundled = [json.loads(line) for line in done.stdout.splitlines()]
    expected = cli_answers(deployed)
    assert [b["labels"] for b in bundled] == [a["labels"] for a in expected]
    for ours, theirs in zip(bundled, expected, strict=True):
        assert ours["confidence"] == pytest.approx(theirs["confidence"], abs=1e-9)
