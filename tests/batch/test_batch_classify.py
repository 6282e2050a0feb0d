"""``textloop batch-classify``: every input row comes out once, in order, with its columns kept
and the pinned model's answer added; the local engine and Ray agree, and so does the API."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from tests.batch.conftest import Trained, write_input
from tests.processes import run_cli, running_server
from textloop.batch.engines import start_ray
from textloop.batch.run import BatchRequest, classify_file, prepare
from textloop.security.api_keys import create_api_key
from textloop.store.tables import Artifact, Execution, ReviewTask

pytestmark = [
    pytest.mark.slow,  # trains an embedding model, starts Ray and a server
    # Ray's start leaves /dev/null handles for the garbage collector: its, not ours
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture(scope="module")
def local_ray():  # type: ignore[no-untyped-def]
    """One real local Ray for this module, two CPUs as on a CI machine."""
    import ray

    start_ray(num_cpus=2)
    yield ray
    ray.shutdown()


def read(path: Path) -> pa.Table:
    if path.suffix == ".csv":
        strings = pacsv.ConvertOptions(column_types={"id": pa.string(), "code": pa.string()})
        return pacsv.read_csv(path, convert_options=strings)
    return pq.read_table(path)


def test_the_local_engine_ray_and_the_api_give_the_same_answers(
    trained: Trained, tmp_path: Path, local_ray: object
) -> None:
    records = write_input(tmp_path / "in.csv", rows=300)
    local = tmp_path / "local.csv"
    done = run_cli(
        trained.env, "batch-classify", "topics", str(tmp_path / "in.csv"), "-o", str(local),
        "--chunk-rows", "64", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["rows"], summary["errors"], summary["chunks"]) == (300, 2, 5)

    request = BatchRequest(
        "topics", tmp_path / "in.csv", tmp_path / "ray.parquet", engine="ray", chunk_rows=64
    )
    classify_file(trained.store, trained.settings, prepare(trained.store, request))

    ours, theirs = read(local), read(tmp_path / "ray.parquet")
    assert ours.column("id").to_pylist() == [r["id"] for r in records]  # each row once, in order
    assert ours.column("code").to_pylist() == [r["code"] for r in records]  # "007" stays "007"
    assert ours.column("label").to_pylist() == [r["label"] for r in records]  # input's own label
    assert ours.column("predicted_label").to_pylist() == [  # CSV writes no answer as ""
        label or "" for label in theirs.column("predicted_label").to_pylist()
    ]
    for column in ("confidence", "top1_score", "top2_score", "top3_score"):
        for a, b in zip(
            ours.column(column).to_pylist(), theirs.column(column).to_pylist(), strict=True
        ):
            assert (a is None and b is None) or abs(a - b) <= 1e-6, column  # fmt: skip
    errors = ours.column("error").to_pylist()
    assert errors[5] == "empty text" and errors[9].startswith("text is 10,001 characters")
    assert theirs.column("predicted_label")[5].as_py() is None
    assert set(ours.column("model_version").to_pylist()) == {1}

    with trained.store.session() as session:
        key = create_api_key(session, ["classify"]).key
    good = [n for n, error in enumerate(errors) if not error][:120]
    with running_server(trained.env, tmp_path / "server.log") as base:
        answer = httpx.post(
            f"{base}/v1/classifiers/topics/classify",
            json={"texts": [records[n]["text"] for n in good]},
            headers={"x-api-key": key},
            timeout=60,
        )
    assert answer.status_code == 200, answer.text
    served = answer.json()["predictions"]
    assert [p["label"] for p in served] == [ours.column("predicted_label")[n].as_py() for n in good]
    assert {p["model_version"] for p in served} == {1}


def test_formats_round_trip_and_a_folder_of_parts(trained: Trained, tmp_path: Path) -> None:
    records = write_input(tmp_path / "in.csv", rows=100, bad=False)
    lines = tmp_path / "in.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    folder = tmp_path / "parts"
    done = run_cli(trained.env, "batch-classify", "topics", str(lines), "-o", str(folder),
                   "--chunk-rows", "30", "--id-column", "id")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in folder.iterdir()) == [f"part-{n:06d}.parquet" for n in range(4)]
    assert pq.read_table(folder).column("id").to_pylist() == [r["id"] for r in records]

    parquet_parts = tmp_path / "input-parts"
    parquet_parts.mkdir()
    table = pa.Table.from_pylist(records)
    pq.write_table(table.slice(0, 60), parquet_parts / "a.parquet", row_group_size=25)
    pq.write_table(table.slice(60), parquet_parts / "b.parquet")
    back = tmp_path / "back.jsonl"
    done = run_cli(trained.env, "batch-classify", "topics", str(parquet_parts), "-o", str(back),
                   "--top-k", "1", "--chunk-rows", "16")  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in back.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [r["id"] for r in records]
    assert [r["code"] for r in rows] == [r["code"] for r in records]
    assert "top2_label" not in rows[0] and rows[0]["top1_label"] == rows[0]["predicted_label"]
    by_jsonl = pq.read_table(folder).column("predicted_label").to_pylist()
    assert [r["predicted_label"] for r in rows] == by_jsonl


def test_the_least_confident_rows_go_to_review_and_the_lineage_is_recorded(
    trained: Trained, tmp_path: Path
) -> None:
    write_input(tmp_path / "in.csv", rows=90, bad=False)
    with trained.store.session() as session:
        before = set(session.scalars(select(ReviewTask.id)))
    request = BatchRequest(
        "topics", tmp_path / "in.csv", tmp_path / "out.parquet", review_below=1.0, review_limit=4
    )
    summary = classify_file(trained.store, trained.settings, prepare(trained.store, request))
    assert summary.review_tasks == 4
    confidences = sorted(read(tmp_path / "out.parquet").column("confidence").to_pylist())
    with trained.store.session() as session:
        tasks = [t for t in session.scalars(select(ReviewTask)) if t.id not in before]
        assert len(tasks) == 4 and all(t.source == "implicit" for t in tasks)
        assert sorted(t.confidence for t in tasks) == pytest.approx(confidences[:4])
        run = session.scalars(
            select(Execution).where(Execution.component == "batch-classify")
        ).all()[-1]
        types = {a.type for a in session.scalars(select(Artifact))}
    assert run.parameters["model_version"] == 1
    assert {"batch-input", "batch-output"} <= types


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--text-column", "body"],
            "column 'body' not found (columns found: id, text, label, code)",
        ),
        (["--id-column", "key"], "column 'key' not found"),
        (["--format", "xml"], "unknown format 'xml'"),
        (["--engine", "spark"], "unknown engine 'spark'"),
        (["--alias", "staging"], "has no model under alias 'staging'"),
        (["--review-limit", "5"], "review_limit needs review_below"),
    ],
)
def test_bad_options_are_refused_naming_the_problem_and_write_nothing(
    trained: Trained, tmp_path: Path, args: list[str], message: str
) -> None:
    write_input(tmp_path / "in.csv", rows=10, bad=False)
    output = tmp_path / "out.csv"
    with trained.store.session() as session:
        runs = session.scalar(select(func.count()).select_from(Execution))
    done = run_cli(trained.env, "batch-classify", "topics", str(tmp_path / "in.csv"), "-o",
                   str(output), *args)  # fmt: skip
    assert done.returncode == 1
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not output.exists() and list(tmp_path.iterdir()) == [tmp_path / "in.csv"]
    with trained.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Execution)) == runs


@pytest.mark.store_free  # refused before any artifact is read
def test_unreadable_inputs_and_taken_outputs_are_refused(trained: Trained, tmp_path: Path) -> None:
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    (tmp_path / "latin.csv").write_bytes("text\ncaf\xe9\n".encode("latin-1"))
    (tmp_path / "taken.csv").write_text("already here", encoding="utf-8")
    write_input(tmp_path / "in.csv", rows=10, bad=False)
    cases = [
        ("broken.parquet", "out.csv", "not a readable Parquet file"),
        (
            "latin.csv",
            "out.csv",
            "line 2: invalid UTF-8 (byte 0xe9 at column 4); save the file as UTF-8\n",
        ),
        ("missing.csv", "out.csv", "no such file or folder"),
        ("in.csv", "taken.csv", "already exists"),
        ("in.csv", "out.xml", "cannot tell the format"),
    ]
    for source, output, message in cases:
        done = run_cli(trained.env, "batch-classify", "topics", str(tmp_path / source), "-o",
                       str(tmp_path / output))  # fmt: skip
        assert done.returncode == 1 and message in done.stderr, (source, done.stderr)
    assert (tmp_path / "taken.csv").read_text(encoding="utf-8") == "already here"
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.store_free  # Ray's logging, wherever the model lies
def test_ray_keeps_its_own_logging_to_itself_unless_asked(trained: Trained, tmp_path: Path) -> None:
    write_input(tmp_path / "in.csv", rows=100, bad=False)
    done = run_cli(trained.env, "batch-classify", "topics", str(tmp_path / "in.csv"), "-o",
                   str(tmp_path / "out.csv"), "--engine", "ray", "--chunk-rows", "50")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "100 rows classified" in done.stdout
    # the progress bar, and none of Ray's INFO lines or its warnings about a small cluster
    assert [line for line in done.stderr.splitlines() if not line.startswith("classifying")] == []
