"""A batch refuses, before any work, an input holding a column its output adds: the columns of
the classifier's own mode. A multi-label classifier adds ``predicted_labels``, ``confidence``,
``model_version``, a ``score:<label>`` per label and ``error``, so an input's ``top1_label``
stays beside them, and its ``score:sport`` is refused."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import func, select

from tests.processes import environment, run_cli
from textloop.batch.run import BatchRequest, classify_file, prepare
from textloop.config import Settings
from textloop.store import Store
from textloop.store.tables import Execution

TEXTS = ["rain and wind in the forecast", "the striker scored a goal"]


def write(path: Path, column: str) -> Path:
    path.write_text(f"text,{column}\n" + "".join(f"{t},x\n" for t in TEXTS), encoding="utf-8")
    return path


def test_a_column_only_a_single_label_output_adds_stays_beside_the_label_sets(
    both_modes: Store, settings: Settings, tmp_path: Path
) -> None:
    source = write(tmp_path / "in.csv", "top1_label")
    request = BatchRequest("tags", source, tmp_path / "out.csv")
    summary = classify_file(both_modes, settings, prepare(both_modes, request))
    assert (summary.rows, summary.errors) == (2, 0)
    out = pacsv.read_csv(tmp_path / "out.csv", convert_options=pacsv.ConvertOptions(
        column_types={"top1_label": pa.string(), "predicted_labels": pa.string()}
    ))  # fmt: skip
    assert out.column_names == [
        "text", "top1_label", "predicted_labels", "confidence", "model_version",
        "score:finance", "score:sport", "score:weather", "error",
    ]  # fmt: skip
    assert out.column("top1_label").to_pylist() == ["x", "x"]
    assert out.column("predicted_labels").to_pylist() == ["weather", "sport"]


def test_a_column_a_multi_label_output_adds_is_refused_before_any_work(
    both_modes: Store, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "batch"  # (the store and its data are in tmp_path too)
    folder.mkdir()
    source = write(folder / "in.csv", "score:sport")
    output = folder / "out.csv"
    with both_modes.session() as session:
        runs = session.scalar(select(func.count()).select_from(Execution))
    env = environment(settings.data_dir, settings.database_url)
    done = run_cli(env, "batch-classify", "tags", str(source), "-o", str(output))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: the input already has a column named 'score:sport', which the output adds; "
        "rename it"
    ]
    assert list(folder.iterdir()) == [source]
    with both_modes.session() as session:
        assert session.scalar(select(func.count()).select_from(Execution)) == runs
    single = prepare(both_modes, BatchRequest("topics", source, output))  # adds no score:<label>
    assert single.deployment.name == "topics"
