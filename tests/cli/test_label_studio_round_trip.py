"""Moving between Label Studio and textloop from the command line: a project's export is
ingested, trained on, and textloop's review tasks go back in Label Studio's import format with
the project's own labels, unchanged."""

import json
from pathlib import Path
from typing import Any

import pytest

from tests.annotation_exports import annotation, choices, task
from tests.corpus import corpus_rows
from tests.processes import environment, run_cli

# labels as a Label Studio project may spell them: spaces, accents, symbols, capitals
LABELS = {"sport": "Sport ⚽", "finance": "Finance & markets", "weather": "Météo"}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    # the formats and the commands are under test, not storage: SQLite alone
    return environment(tmp_path / "data", f"sqlite:///{tmp_path / 'textloop.db'}")


def project_export(path: Path) -> dict[str, str]:
    """A hand-made export of a project: 60 annotated tasks (some by two people who agree),
    and 15 that nobody labelled yet, one of them skipped; returns the intended label of each
    of those 15 texts."""
    tasks: list[dict[str, Any]] = []
    for number, (text, topic) in enumerate(corpus_rows(per_label=20), start=1):
        given = [annotation(choices(LABELS[topic]))]
        if number % 4 == 0:
            given.append(annotation(choices(LABELS[topic]), by=11))
        tasks.append(task(number, text, *given, predicted=LABELS["sport"], batch="2024-05"))
    waiting: dict[str, str] = {}
    for number, (text, topic) in enumerate(corpus_rows(per_label=5, seed=99), start=101):
        text = f"{text}, still to label"
        skipped = [annotation(cancelled=True)] if number == 101 else []
        tasks.append(task(number, text, *skipped, batch="2024-06"))
        waiting[text] = LABELS[topic]
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=2), encoding="utf-8")
    return waiting


def test_a_label_studio_export_round_trips_with_its_labels_unchanged(
    env: dict[str, str], tmp_path: Path
) -> None:
    export = tmp_path / "project-83-export.json"
    waiting = project_export(export)

    ingested = run_cli(
        env, "ingest", str(export), "-c", "tickets", "--label-column", "sentiment", "--json"
    )
    assert ingested.returncode == 0, ingested.stderr
    result = json.loads(ingested.stdout)
    assert (result["rows"], result["dropped"]) == (60, 15)  # the unlabelled tasks: dropped
    assert sorted(result["labels"]) == sorted(LABELS.values())
    assert result["extra_columns"] == ["batch"]

    assert run_cli(env, "train", "tickets", "--model", "ngram").returncode == 0
    assert run_cli(env, "deploy", "tickets").returncode == 0
    pooled = run_cli(env, "pool", "add", "tickets", str(export), "--json")
    assert pooled.returncode == 0, pooled.stderr
    assert (json.loads(pooled.stdout)["added"], json.loads(pooled.stdout)["labelled"]) == (15, 60)
    sampled = run_cli(
        env, "pool", "sample", "tickets", "--n", "15", "--strategy", "least-confidence"
    )
    assert sampled.returncode == 0, sampled.stderr

    tasks_file = tmp_path / "tasks.json"
    exported = run_cli(
        env, "review", "export", "tickets", "--format", "label-studio",
        "--from-name", "sentiment", "--output", str(tasks_file),
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    tasks = json.loads(tasks_file.read_text(encoding="utf-8"))
    suggested = {}
    for exported_task in tasks:
        (prediction,) = exported_task["predictions"]
        (result_item,) = prediction["result"]
        assert (result_item["from_name"], result_item["to_name"]) == ("sentiment", "text")
        suggested[exported_task["data"]["text"]] = result_item["value"]["choices"]
    assert suggested == {text: [label] for text, label in waiting.items()}


def test_an_export_textloop_cannot_read_as_labels_is_one_line_naming_the_task(
    env: dict[str, str], tmp_path: Path
) -> None:
    export = tmp_path / "export.json"
    both = annotation(choices("Positive", "Negative"))
    export.write_text(
        json.dumps([task(1, "fine", annotation(choices("Positive"))), task(2, "?", both)])
    )
    refused = run_cli(env, "ingest", str(export), "-c", "c", "--label-column", "sentiment")
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.strip().count("\n") == 0
    assert "task 2: 'sentiment' has 2 labels chosen (Positive, Negative)" in refused.stderr
    unknown = run_cli(env, "ingest", str(export), "-c", "c", "--format", "labelstudio")
    assert unknown.returncode == 1
    assert "unknown format 'labelstudio'; use one of argilla, csv, json" in unknown.stderr
