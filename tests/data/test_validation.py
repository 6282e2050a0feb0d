"""A batch is checked against the schema of the classifier's first dataset version."""

import csv
import json
import random
from pathlib import Path

from tests.processes import environment, run_cli
from textloop.cli.demo import bundled_file
from textloop.data.schema import Schema
from textloop.data.statistics import TextStatistics
from textloop.data.validation import ValidationConfig, has_errors, validate_rows

REFERENCE = [(f"text number {i} about {label}", label) for i in range(50) for label in "abc"]


def schema() -> Schema:
    return Schema.infer(TextStatistics.of(REFERENCE))


def kinds(rows, config=None) -> dict[str, tuple[str, int]]:
    return {a.kind: (a.severity, a.count) for a in validate_rows(rows, schema(), config)}


def test_the_reference_data_is_clean_against_its_own_schema() -> None:
    assert kinds(REFERENCE) == {}


def test_unknown_labels_are_errors_with_examples() -> None:
    rows = [*REFERENCE, ("new text", "d"), ("other", "d")]
    (anomaly,) = validate_rows(rows, schema())
    assert (anomaly.kind, anomaly.severity, anomaly.count) == ("unknown_label", "error", 2)
    assert anomaly.examples[0] == {"row": 151, "text": "new text", "label": "d"}
    assert has_errors([anomaly])


def test_a_few_empty_texts_warn_and_many_block() -> None:
    assert kinds([*REFERENCE, ("", "a")])["empty_text"] == ("warning", 1)
    assert kinds([*REFERENCE] + [("", "a")] * 5)["empty_text"] == ("error", 5)


def test_duplicates_and_conflicts_are_told_apart() -> None:
    rows = [*REFERENCE, REFERENCE[0], (REFERENCE[1][0], "c")]
    found = kinds(rows, ValidationConfig(max_conflict_share=0.5))
    assert found["duplicate_text"] == ("warning", 1)
    assert found["conflicting_labels"] == ("warning", 1)


def test_missing_labels_extreme_lengths_and_label_shift() -> None:
    rows = [row for row in REFERENCE if row[1] != "c"] + [("x" * 500, "a")]
    found = kinds(rows)
    assert found["missing_label"] == ("warning", 1)
    assert found["extreme_length"] == ("warning", 1)
    assert found["label_shift"][0] == "warning"


def write(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        writer.writerows(rows)
    return path


def test_validate_reports_each_injected_fault_with_its_exact_count(
    tmp_path: Path, database_url: str
) -> None:
    with bundled_file("train.csv").open(encoding="utf-8") as handle:
        clean = [(row["text"], row["category"]) for row in csv.DictReader(handle)]
    rng = random.Random(0)
    dropped = sorted({label for _, label in clean})[0]
    faulty = [row for row in clean if row[1] != dropped]
    chosen = rng.sample(range(len(faulty)), 100)
    for i in chosen[:50]:
        faulty[i] = ("", faulty[i][1])
    for i in chosen[50:70]:
        faulty[i] = (faulty[i][0], faulty[i][1] + "_typo")
    labels = sorted({label for _, label in faulty} - {dropped})
    for i in chosen[70:100]:
        text, label = faulty[i]
        faulty.append((text, next(other for other in labels if other != label)))

    env = environment(tmp_path / "data", database_url)
    clean_file = write(tmp_path / "clean.csv", clean)
    ingest = run_cli(env, "ingest", str(clean_file), "-c", "banking", "--label-column", "category")
    assert ingest.returncode == 0, ingest.stderr

    result = run_cli(
        env,
        "validate",
        "banking",
        str(write(tmp_path / "faulty.csv", faulty)),
        "--label-column",
        "category",
        "--json",
    )
    assert result.returncode == 1
    found = {a["kind"]: (a["severity"], a["count"]) for a in json.loads(result.stdout)["anomalies"]}
    assert found["empty_text"] == ("warning", 50)
    assert found["unknown_label"] == ("error", 20)
    assert found["conflicting_labels"] == ("warning", 30)
    assert found["missing_label"] == ("warning", 1)

    again = run_cli(env, "validate", "banking", str(clean_file), "--label-column", "category")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "error" not in again.stdout


def test_training_refuses_data_with_blocking_anomalies(tmp_path: Path) -> None:
    env = environment(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite'}")
    good = write(tmp_path / "good.csv", REFERENCE)
    bad = write(tmp_path / "bad.csv", [*REFERENCE, *[("", "a")] * 10, ("t", "zzz")])
    assert (
        run_cli(env, "ingest", str(good), "-c", "abc", "--label-column", "category").returncode == 0
    )
    assert (
        run_cli(env, "ingest", str(bad), "-c", "abc", "--label-column", "category").returncode == 0
    )
    refused = run_cli(env, "train", "abc", "--model", "majority")
    assert refused.returncode == 1
    assert "blocking anomalies: empty_text (10); unknown_label (1)" in refused.stderr
    assert run_cli(env, "train", "abc", "--model", "majority", "--ignore-anomalies").returncode == 0
