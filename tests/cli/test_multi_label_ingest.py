"""``textloop ingest --multi-label``: label sets from a file, a label the classifier does not
know only with ``--new-labels``, the per-label figures of ``stats``, and every refusal one line
on stderr with a non-zero exit, writing nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.annotation_exports import annotation, tags, task
from tests.processes import environment, run_cli

TICKETS = (
    "text,tags\n"
    "my refund never came,refund|billing\n"
    "I was charged twice,billing\n"
    "thanks for the help,\n"
    "card stolen and charged,card|billing|fraud\n"
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    # what the CLI parses and prints is under test, not storage: SQLite alone
    return environment(tmp_path / "data", f"sqlite:///{tmp_path / 'textloop.db'}")


def ingest(env: dict[str, str], path: Path, *flags: str) -> tuple[int, dict, str]:
    """The exit code, the JSON result (empty when refused) and stderr."""
    done = run_cli(
        env, "ingest", str(path), "-c", "tickets", "--label-column", "tags", "--json", *flags
    )
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}, done.stderr


def error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_csv_of_label_sets_is_ingested_and_stats_shows_each_label(
    env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "tickets.csv"
    data.write_text(TICKETS)
    code, result, stderr = ingest(env, data, "--multi-label")
    assert code == 0, stderr
    assert (result["rows"], result["dropped"]) == (4, 0)
    assert result["labels"] == ["billing", "card", "fraud", "refund"]

    shown = run_cli(env, "stats", "tickets")
    assert shown.returncode == 0, shown.stderr
    assert "texts with none 1" in shown.stdout
    assert "texts per label: billing 3  card 1  fraud 1  refund 1" in shown.stdout
    statistics = json.loads(run_cli(env, "stats", "tickets", "--json").stdout)["statistics"]
    assert statistics["labels_per_text"]["distribution"] == {"0": 1, "1": 1, "2": 1, "3": 1}
    assert statistics["co_occurrence"][0] == {"labels": ["billing", "card"], "texts": 1}


def test_another_separator_and_list_columns_read_the_same_sets(
    env: dict[str, str], tmp_path: Path
) -> None:
    semicolons = tmp_path / "tickets.csv"
    semicolons.write_text(TICKETS.replace("|", ";"))
    code, first, stderr = ingest(env, semicolons, "--multi-label", "--label-separator", ";")
    assert code == 0, stderr
    rows = [line.split(",") for line in TICKETS.splitlines()[1:]]
    lists = [[name for name in tags.split("|") if name] for _, tags in rows]
    parquet = tmp_path / "tickets.parquet"
    pq.write_table(pa.table({"text": [text for text, _ in rows], "tags": lists}), parquet)
    jsonl = tmp_path / "tickets.jsonl"
    jsonl.write_text(
        "".join(
            json.dumps({"text": t, "tags": n}) + "\n" for (t, _), n in zip(rows, lists, strict=True)
        )
    )
    for same in (parquet, jsonl):
        code, again, stderr = ingest(env, same, "--multi-label")
        assert code == 0, stderr
        assert (again["created"], again["content_hash"]) == (False, first["content_hash"])


def test_a_file_in_the_other_mode_is_refused_in_one_line_and_writes_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "tickets.csv"
    data.write_text(TICKETS)
    assert ingest(env, data, "--multi-label")[0] == 0
    code, _, stderr = ingest(env, data)
    assert code == 1
    assert error_line(stderr) == (
        "error: classifier 'tickets' is multi-label, fixed when it was created; this file was "
        "read as single-label; ingest it with --multi-label"
    )
    runs = json.loads(run_cli(env, "runs", "list", "tickets", "--json").stdout)
    assert len(runs) == 1


def test_a_label_the_classifier_does_not_know_is_refused_in_one_line_unless_new_labels(
    env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "tickets.csv"
    data.write_text(TICKETS)
    assert ingest(env, data, "--multi-label")[0] == 0
    batch = tmp_path / "batch.csv"
    batch.write_text("text,tags\nmy card again,card\nwhere is my parcel,shipping|billing\n")
    code, result, stderr = ingest(env, batch, "--multi-label", "--delimiter", ",")  # no note
    assert (code, result) == (1, {})
    assert error_line(stderr) == (
        f"error: {batch}: row 2: 'shipping' is not one of the labels of multi-label classifier "
        "'tickets' (billing, card, fraud, refund); to add a label, ingest with --new-labels"
    )
    runs = json.loads(run_cli(env, "runs", "list", "tickets", "--json").stdout)
    assert len(runs) == 1  # the first ingest's
    shown = json.loads(run_cli(env, "stats", "tickets", "--json").stdout)
    assert shown["dataset_version"] == 1

    code, result, stderr = ingest(env, batch, "--multi-label", "--new-labels")
    assert code == 0, stderr
    assert (result["version"], result["labels"]) == (
        2,
        ["billing", "card", "fraud", "refund", "shipping"],
    )


@pytest.mark.parametrize(
    ("content", "flags", "error"),
    [
        (
            "text,tags\nfine,a\nbad,a||b\n",
            ("--multi-label",),
            "line 3: the label cell 'a||b' has an empty label name between '|' separators",
        ),
        (
            "text,tags\nfine,a|b\n",
            ("--label-separator", ";"),
            "error: --label-separator applies to label sets only; add --multi-label",
        ),
    ],
    ids=["empty name", "separator without multi-label"],
)
def test_bad_label_sets_are_refused_in_one_line_naming_the_row(
    env: dict[str, str], tmp_path: Path, content: str, flags: tuple[str, ...], error: str
) -> None:
    data = tmp_path / "tickets.csv"
    data.write_text(content)
    code, _, stderr = ingest(env, data, *flags)
    assert code == 1 and error_line(stderr).endswith(error)
    missing = run_cli(env, "stats", "tickets")
    assert "classifier 'tickets' does not exist" in missing.stderr


def test_a_list_column_without_multi_label_is_refused_saying_to_pass_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "tickets.jsonl"
    data.write_text(json.dumps({"text": "a", "tags": ["x|y"]}) + "\n")
    code, _, stderr = ingest(env, data)
    assert code == 1
    assert error_line(stderr).endswith(
        "column 'tags' holds lists of labels; pass --multi-label to read them as label sets"
    )
    code, _, stderr = ingest(env, data, "--multi-label")
    assert error_line(stderr).endswith(
        "line 1: the label name 'x|y' contains the label separator '|'; choose another with "
        "--label-separator"
    )


def test_validate_reads_a_file_in_the_classifiers_mode(env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "tickets.csv"
    data.write_text(TICKETS)
    assert ingest(env, data, "--multi-label")[0] == 0
    batch = tmp_path / "batch.csv"
    batch.write_text("text,tags\nwhere is my parcel,shipping|billing\n")
    checked = run_cli(env, "validate", "tickets", str(batch), "--label-column", "tags", "--json")
    assert checked.returncode == 1
    (unknown,) = [
        a for a in json.loads(checked.stdout)["anomalies"] if a["kind"] == "unknown_label"
    ]
    assert unknown["examples"][0]["labels"] == ["billing", "shipping"]


def test_a_label_studio_export_of_multiple_choices_creates_a_multi_label_classifier(
    env: dict[str, str], tmp_path: Path
) -> None:
    export = tmp_path / "export.json"
    export.write_text(
        json.dumps(
            [
                task(1, "my refund never came", annotation(tags("refund", "billing"))),
                task(2, "I was charged twice", annotation(tags("billing"))),
                task(3, "thanks for the help", annotation()),  # nothing ticked: none applies
                task(4, "nobody looked at this one"),
                task(5, "card stolen and charged", annotation(tags("card", "billing", "fraud"))),
            ]
        )
    )
    done = run_cli(
        env,
        "ingest",
        str(export),
        "--format",
        "label-studio",
        "--multi-label",
        "-c",
        "tags",
        "--label-column",
        "tags",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["rows"], result["dropped"]) == (4, 0)
    assert result["labels"] == ["billing", "card", "fraud", "refund"]
    assert f"left out 1 rows of {export} that nobody answered (task 4)" in done.stderr
    statistics = json.loads(run_cli(env, "stats", "tags", "--json").stdout)["statistics"]
    assert statistics["mode"] == "multi-label"
    assert statistics["labels_per_text"]["distribution"] == {"0": 1, "1": 1, "2": 1, "3": 1}
    assert statistics["labels"] == {"billing": 3, "card": 1, "fraud": 1, "refund": 1}
