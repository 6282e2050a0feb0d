"""Batch classification: textloop's local and Ray engines against the script a user would write.

One run, one input, three separate processes, each timed and measured from the outside:

* baseline: the loop a user writes without textloop: the input read 2,048 rows at a time,
  each slice encoded by sentence-transformers (PyTorch, FP32, ``batch_size=64``), then the very
  head and temperature of the trained textloop model applied to those embeddings, and the label
  and confidence written to Parquet;
* local: ``textloop batch-classify --engine local`` (the INT8 ONNX encoder, in one process);
* ray: ``textloop batch-classify --engine ray``, which starts a local Ray (GCS, raylet, workers,
  one actor per CPU less one) and stops it when done.

The input is made of distinct texts (two Banking77 training texts joined by a space), so no
embedding cache anywhere can answer for a text it has seen, and each engine writes to a new path.
Figures per engine: wall seconds of the whole process (Python start, model load and Ray start
included: what a user waits for), the seconds the run reports itself, rows per second, CPU
seconds and peak resident memory of the whole process tree. Memory is the peak of the summed
VmRSS of every process the run started, sampled every 0.2 s: pages shared between processes
(Ray's workers map the same libraries) count once per process, so the Ray figure errs high, and
a spike shorter than a sample can be missed. CPU seconds are exact: every process of the tree is
reaped here or by a parent that is (this script becomes the subreaper of orphans).
Then outputs are compared: local and Ray must agree to 1e-6 on every score; the baseline runs
on the FP32 encoder, textloop on its INT8 export, so only the share of equal labels is shown.

``--million`` runs the local engine alone on a million rows (memory must stay flat however long
the input is). Linux only (``/proc``).

Usage: python benchmarks/batch.py [--rows 20000] [--only baseline,local,ray]
                                  [--input-format parquet|csv] [--json]
       python benchmarks/batch.py --million [--rows 1000000]
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import json
import os
import platform
import random
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from _cli import BANKING77, ingested, textloop

ENGINES = ("baseline", "local", "ray")
CHUNK_ROWS = 2048  # textloop's chunk (textloop.batch.sources.CHUNK_ROWS): the same slices
ENCODE_BATCH = 64  # textloop's own PyTorch encoder's batch (sentence-transformers' default: 32)
SAMPLE_SECONDS = 0.2
LINGER_SECONDS = 30.0  # how long processes a run left behind may take to exit before the TERM
TOLERANCE = 1e-6
ENCODERS = Path(__file__).parents[1] / ".encoders"  # ONNX exports made once, reused by every run
PR_SET_CHILD_SUBREAPER = 36


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=BANKING77)
    parser.add_argument("--label-column", default="category")
    parser.add_argument("--rows", type=int, default=None, help="20,000 (1,000,000 with --million)")
    parser.add_argument("--only", default=",".join(ENGINES), help="engines to run, comma-separated")
    parser.add_argument("--million", action="store_true", help="the local engine alone, 1M rows")
    parser.add_argument("--input-format", default="parquet", choices=["parquet", "csv"])
    parser.add_argument("--encoders", type=Path, default=ENCODERS, help="TEXTLOOP_ENCODER_DIR")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the figures as one object")
    # The baseline runs as a process of its own, started by this script: MODEL INPUT OUTPUT.
    parser.add_argument("--baseline-run", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_run:
        baseline(*args.baseline_run)
        return
    rows = args.rows or (1_000_000 if args.million else 20_000)
    engines = ["local"] if args.million else [e.strip() for e in args.only.split(",") if e.strip()]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown or not engines:
        parser.error(f"--only takes some of {', '.join(ENGINES)}, not {args.only!r}")
    engines = [engine for engine in ENGINES if engine in engines]  # a fixed order, run after run

    figures: dict[str, Any] = {"machine": machine(), "rows": rows, "format": args.input_format}
    with ingested(args) as (env, tmp):
        env["TEXTLOOP_ENCODER_DIR"] = str(args.encoders.absolute())
        # Without it, ray.init() joins a cluster that `ray start` left running, whose processes
        # are not the run's: the Ray figures must be of a Ray the run starts and stops itself.
        env["RAY_ADDRESS"] = "local"
        say(f"machine: {figures['machine']}")
        texts = distinct_texts(args.data / "train.csv", args.label_column, rows, args.seed)
        source = tmp / f"input.{args.input_format}"
        write_input(source, texts, args.input_format)
        figures["distinct_texts"] = len(set(texts)) == rows
        say(f"input: {rows:,} distinct texts ({source.stat().st_size / 2**20:.1f} MiB)")
        del texts
        say("training `bench` (embedding) on Banking77 train, then deploying it")
        _, seconds = textloop(env, "train", "bench", "--model", "embedding")
        # The latency gate of deploy measures this machine while it may be busy; what is
        # measured here is batch speed, so a slow moment must not stop the run.
        textloop(env, "deploy", "bench", "--force")
        figures["train_seconds"] = seconds
        model = production_directory(env)
        runs: dict[str, Run] = {}
        outputs: dict[str, Path] = {}
        claim_orphans()
        for engine in engines:
            outputs[engine] = tmp / f"{engine}-output.parquet"  # new each time: nothing reused
            say(f"running {engine} on {rows:,} rows")
            runs[engine] = run = measure(command(engine, model, source, outputs[engine]), env, tmp)
            if engine == "ray" and "raylet" not in run.processes:
                raise SystemExit("the ray run started no raylet: it used a Ray it did not start")
            say(
                f"  {run.wall_seconds:.1f} s wall, {run.peak_rss_mib:.0f} MiB peak, "
                f"{run.cpu_seconds:.1f} CPU s"
            )
        for engine in engines:
            expect_rows(engine, runs[engine], outputs[engine], rows)
        figures["engines"] = {engine: asdict(run) for engine, run in runs.items()}
        figures["ratios"] = ratios(runs)
        figures["checks"] = checks(outputs)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        report(figures)
    if not all(
        check.get("agree", True) and check["ids_equal"] for check in figures["checks"].values()
    ):
        raise SystemExit(1)  # a benchmark whose outputs disagree has measured the wrong thing


def say(message: str) -> None:
    """Progress goes to stderr, so that ``--json`` leaves stdout to the figures alone."""
    print(message, file=sys.stderr, flush=True)


def machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), "")
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores, {cpu}, {memory:.0f} GiB, Python {platform.python_version()}, "
        f"Ray {version('ray')}"
    )


# The input: distinct texts, so that no embedding cache helps any engine.


def distinct_texts(train: Path, label_column: str, rows: int, seed: int) -> list[str]:
    """``rows`` texts, each two different Banking77 training texts joined by a space; a pair that
    spells a text already made (``"a b" + "c"`` against ``"a" + "b c"``) is drawn again."""
    with train.open(encoding="utf-8", newline="") as handle:
        pool = list(dict.fromkeys(row["text"].strip() for row in csv.DictReader(handle)))
    if rows > len(pool) * (len(pool) - 1) // 2:
        raise SystemExit(f"Banking77 cannot make {rows:,} distinct pairs")
    draw = random.Random(seed)
    made: dict[str, None] = {}
    while len(made) < rows:
        first, second = draw.sample(range(len(pool)), 2)
        made.setdefault(f"{pool[first]} {pool[second]}")
    texts = list(made)
    if len(set(texts)) != rows:  # the claim the whole benchmark rests on: check it, not trust it
        raise SystemExit("the input texts are not distinct")
    return texts


def write_input(path: Path, texts: list[str], file_format: str) -> None:
    table = pa.table({"id": pa.array(range(len(texts)), pa.int64()), "text": texts})
    if file_format == "csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)  # pyarrow's defaults: the file a user would most likely have


def production_directory(env: dict[str, str]) -> Path:
    from textloop.config import Settings
    from textloop.predict.deployment import production_model
    from textloop.store import open_store
    from textloop.store.queries import get_classifier

    settings = Settings.load(data_dir=env["TEXTLOOP_DATA_DIR"])
    with open_store(settings).session() as session:
        model = production_model(session, get_classifier(session, "bench"))
        return settings.artifact_root / model.artifact_uri


def command(engine: str, model: Path, source: Path, output: Path) -> list[str]:
    if engine == "baseline":
        return [sys.executable, __file__, "--baseline-run", str(model), str(source), str(output)]
    return [
        sys.executable,
        "-m",
        "textloop",
        "batch-classify",
        "bench",
        str(source),
        "-o",
        str(output),
        "--engine",
        engine,
        "--json",
    ]


# The baseline, as its own process: only what a user's script would import is loaded.


def baseline(model_directory: Path, source: Path, output: Path) -> None:
    """The script a user writes with sentence-transformers, given textloop's trained head: the
    head's coefficients and the calibration temperature are taken from the saved model, so the
    only difference left with textloop is the encoder's runtime (PyTorch FP32 against ONNX INT8)
    and the machinery around it."""
    began = time.monotonic()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # as textloop: the bundled model, no download
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    from textloop.models.base import ModelResources, load_model
    from textloop.models.calibrated import CalibratedClassifier, rescale
    from textloop.models.embedding import EmbeddingClassifier
    from textloop.models.encoders import resolve_encoder_path

    # its encoder loads on first use, and is never used here
    model = load_model(model_directory, ModelResources())
    calibrated = isinstance(model, CalibratedClassifier)
    inner = model.model if calibrated else model
    if not isinstance(inner, EmbeddingClassifier):
        raise SystemExit(f"the baseline needs an embedding model, not {type(inner).__name__}")
    classes = np.asarray(inner.classes_, dtype=object)
    encoder = SentenceTransformer(resolve_encoder_path(inner.encoder), device="cpu")
    writer: pq.ParquetWriter | None = None
    rows = 0
    for frame in frames(source):
        vectors = encoder.encode(
            frame["text"].tolist(),
            batch_size=ENCODE_BATCH,
            normalize_embeddings=True,  # as textloop's encoders: the head knows unit vectors
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        probabilities = inner.head_.predict_proba(vectors)
        if calibrated:
            probabilities = rescale(probabilities, model.temperature_)
        best = probabilities.argmax(axis=1)
        table = pa.table(
            {
                "id": pa.array(frame["id"].to_numpy(), pa.int64()),
                "predicted_label": pa.array(classes[best].tolist(), pa.string()),
                "confidence": pa.array(probabilities[np.arange(len(best)), best], pa.float64()),
            }
        )
        writer = writer or pq.ParquetWriter(output, table.schema)
        writer.write_table(table)
        rows += table.num_rows
    if writer is not None:
        writer.close()
    print(json.dumps({"rows": rows, "seconds": time.monotonic() - began}))


def frames(source: Path) -> Iterator[Any]:
    """The input as pandas frames of ``CHUNK_ROWS`` rows, streamed so memory does not grow with
    the file: the baseline is a careful user's script, not a strawman that loads everything."""
    import pandas as pd

    if source.suffix == ".csv":
        # Texts stay texts: without these, pandas reads a text "NA" or "null" as missing.
        yield from pd.read_csv(
            source, chunksize=CHUNK_ROWS, dtype={"text": str}, keep_default_na=False
        )
        return
    for batch in pq.ParquetFile(source).iter_batches(batch_size=CHUNK_ROWS, columns=["id", "text"]):
        yield batch.to_pandas()


# Measuring a process tree from the outside.


@dataclass
class Run:
    wall_seconds: float
    reported_seconds: float  # what the run timed itself (no Python start)
    rows_per_second: float
    cpu_seconds: float
    peak_rss_mib: float
    processes: dict[str, int]  # how many of each name the tree held, over the whole run
    lingering: list[str] = field(default_factory=list)  # still alive after LINGER_SECONDS
    answer: dict[str, Any] = field(default_factory=dict)


def claim_orphans() -> None:
    """Become the child subreaper: a process of a run whose parent dies first (a Ray worker
    outliving its raylet) is then re-parented to this script rather than to init, so its memory
    is still sampled and its CPU time still reaped here."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        say("warning: not a subreaper; processes orphaned by a run escape its figures")
    reap()  # children of the set-up commands, if any were left, are not charged to a run


def reap() -> list[tuple[int, int, float]]:
    """Every exited child: pid, exit code, and user + system seconds of it and all the
    descendants it reaped (the kernel's rusage: exact, not sampled)."""
    reaped = []
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        reaped.append((pid, os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime))


def measure(argv: list[str], env: dict[str, str], tmp: Path) -> Run:
    """Run ``argv`` to its end, sampling its process tree, and read its JSON answer."""
    from textloop.bench.server_stats import process_tree

    me = os.getpid()
    stdout, stderr = tmp / "stdout.txt", tmp / "stderr.txt"
    with stdout.open("w") as out, stderr.open("w") as err:
        started = time.perf_counter()
        child = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
    # Readable the moment the child exits: its wall time is not rounded up to the next sample.
    exits = os.pidfd_open(child.pid)
    exited = 0.0
    peak, cpu = 0, 0.0
    seen: dict[int, str] = {}  # pid: name, of every process sampled in the tree
    code: int | None = None
    wall = deadline = 0.0
    lingering: list[str] = []
    while True:
        tree = process_tree(me)[1:]
        seen.update({pid: name(pid) for pid in tree if pid not in seen})
        peak = max(peak, sum(rss_bytes(pid) for pid in tree))
        for pid, status, seconds in reap():  # reaped here, so Popen must not wait for it
            cpu += seconds
            if pid == child.pid:
                code, wall = status, (exited or time.perf_counter()) - started
                os.close(exits)
                deadline = time.monotonic() + LINGER_SECONDS
        if code is not None:
            alive = [pid for pid in process_tree(me)[1:] if rss_bytes(pid)]  # not zombies
            if not alive:
                break
            if time.monotonic() > deadline:
                lingering = [f"{pid} {name(pid)}" for pid in alive]
                for pid in alive:
                    os.kill(pid, signal.SIGTERM)  # started by this run, named by pid
                time.sleep(1.0)
                cpu += sum(seconds for _, _, seconds in reap())
                break
            time.sleep(SAMPLE_SECONDS)
        elif select.select([exits], [], [], SAMPLE_SECONDS)[0] and not exited:
            exited = time.perf_counter()
    child.returncode = code
    if code != 0:
        raise SystemExit(
            f"{' '.join(argv[:6])} ... exited with {code}:\n{stderr.read_text()[-3000:]}"
        )
    answer = json.loads(stdout.read_text())
    rows = int(answer["rows"])
    return Run(
        wall_seconds=wall,
        reported_seconds=float(answer["seconds"]),
        rows_per_second=rows / wall,
        cpu_seconds=cpu,
        peak_rss_mib=peak / 2**20,
        processes=dict(Counter(seen.values()).most_common()),
        lingering=lingering,
        answer=answer,
    )


def rss_bytes(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0  # gone between listing and reading
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


# What the figures mean.


def expect_rows(engine: str, run: Run, output: Path, rows: int) -> None:
    """A fast engine that dropped rows or failed some would win unfairly: refuse its figures."""
    written = pq.ParquetFile(output).metadata.num_rows
    errors = int(run.answer.get("errors", 0))
    if written != rows or run.answer["rows"] != rows or errors:
        raise SystemExit(
            f"{engine}: {written:,} rows written, {run.answer['rows']:,} reported, "
            f"{errors:,} without a prediction; expected {rows:,}"
        )


def ratios(runs: dict[str, Run]) -> dict[str, dict[str, float]]:
    """One engine over another: rows per second (above 1: the first is faster) and peak memory
    (above 1: the first needs more)."""
    found = {}
    for first, second in (("local", "baseline"), ("ray", "baseline"), ("ray", "local")):
        if first in runs and second in runs:
            found[f"{first}/{second}"] = {
                "rows_per_second": runs[first].rows_per_second / runs[second].rows_per_second,
                "peak_rss": runs[first].peak_rss_mib / runs[second].peak_rss_mib,
            }
    return found


def checks(outputs: dict[str, Path]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if "local" in outputs and "ray" in outputs:
        found["local_vs_ray"] = same_scores(outputs["local"], outputs["ray"])
    ours = next((engine for engine in ("local", "ray") if engine in outputs), None)
    if ours and "baseline" in outputs:
        found[f"{ours}_vs_baseline"] = against_baseline(outputs[ours], outputs["baseline"])
    return found


def by_id(path: Path, columns: list[str] | None = None) -> pa.Table:
    """Rows matched by id, not trusted to come in one order. textloop keeps a CSV input's values
    as the text they were written as, so its ids are cast back to the numbers the input made."""
    table = pq.read_table(path, columns=columns)
    ids = table.column("id").cast(pa.int64())
    return table.set_column(table.schema.get_field_index("id"), "id", ids).sort_by("id")


def same_scores(local: Path, ray: Path) -> dict[str, Any]:
    """Both engines score a chunk with the same code on the same rows: every label must match,
    every score to ``TOLERANCE``."""
    left, right = by_id(local), by_id(ray)
    result: dict[str, Any] = {"ids_equal": left.column("id").equals(right.column("id"))}
    labels = [name for name in left.column_names if name.endswith("_label")]
    scores = ["confidence", *(name for name in left.column_names if name.endswith("_score"))]
    result["label_mismatches"] = {
        label: int(
            np.sum(
                np.asarray(left.column(label).to_pylist(), dtype=object)
                != np.asarray(right.column(label).to_pylist(), dtype=object)
            )
        )
        for label in labels
    }
    result["max_abs_diff"] = {
        score: float(
            np.max(
                np.abs(
                    left.column(score).to_numpy(zero_copy_only=False)
                    - right.column(score).to_numpy(zero_copy_only=False)
                ),
                initial=0.0,
            )
        )
        for score in scores
    }
    result["agree"] = (
        result["ids_equal"]
        and not any(result["label_mismatches"].values())
        and max(result["max_abs_diff"].values()) <= TOLERANCE
    )
    return result


def against_baseline(ours: Path, theirs: Path) -> dict[str, Any]:
    """INT8 against FP32 embeddings: labels differ where two classes were nearly tied, so this
    is a share to read, not a test to pass."""
    columns = ["id", "predicted_label", "confidence"]
    left, right = by_id(ours, columns), by_id(theirs, columns)
    same = np.asarray(left.column("predicted_label").to_pylist(), dtype=object) == np.asarray(
        right.column("predicted_label").to_pylist(), dtype=object
    )
    gap = np.abs(left.column("confidence").to_numpy() - right.column("confidence").to_numpy())
    return {
        "ids_equal": left.column("id").equals(right.column("id")),
        "same_label_share": float(same.mean()) if len(same) else 1.0,
        "confidence_mean_abs_diff": float(gap.mean()) if len(gap) else 0.0,
        "confidence_max_abs_diff": float(gap.max(initial=0.0)),
    }


def report(figures: dict[str, Any]) -> None:
    engines: dict[str, dict[str, Any]] = figures["engines"]
    base = engines.get("baseline")
    print(
        f"\nbatch classification of {figures['rows']:,} distinct texts "
        f"({figures['format']}; distinct checked: {figures['distinct_texts']}), "
        f"{figures['machine']}"
    )
    print(f"model: embedding head trained on Banking77 in {figures['train_seconds']:.0f} s\n")
    print(
        "| engine | rows | wall s | in-run s | rows/s | vs baseline | CPU s | peak RSS MiB "
        "| processes |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for engine, run in engines.items():
        versus = f"{run['rows_per_second'] / base['rows_per_second']:.2f}x" if base else "-"
        print(
            f"| {engine} | {run['answer']['rows']:,} | {run['wall_seconds']:.1f} | "
            f"{run['reported_seconds']:.1f} | {run['rows_per_second']:,.0f} | {versus} | "
            f"{run['cpu_seconds']:.1f} | {run['peak_rss_mib']:,.0f} | "
            f"{sum(run['processes'].values())} |"
        )
        if run["lingering"]:
            print(f"  {engine} left processes running, terminated: {', '.join(run['lingering'])}")
    if figures["ratios"]:
        print("\nratios (rows/s on wall time, start-up included; peak RSS):")
        for pair, value in figures["ratios"].items():
            print(
                f"  {pair}: {value['rows_per_second']:.2f}x rows/s, "
                f"{value['peak_rss']:.2f}x peak RSS"
            )
    for engine, run in engines.items():
        if sum(run["processes"].values()) > 1:
            named = ", ".join(f"{count} {kind}" for kind, count in run["processes"].items())
            print(f"\n{engine}'s process tree held: {named}")
    for pair, check in figures["checks"].items():
        if pair == "local_vs_ray":
            worst = max(check["max_abs_diff"].values())
            mismatched = sum(check["label_mismatches"].values())
            verdict = "PASS" if check["agree"] else "FAIL"
            print(
                f"\nlocal vs ray: {verdict}: ids equal {check['ids_equal']}, "
                f"{mismatched} label mismatches over {', '.join(check['label_mismatches'])}; "
                f"max |diff| {worst:.2e} (limit {TOLERANCE:.0e})"
            )
            for score, diff in check["max_abs_diff"].items():
                print(f"  {score}: {diff:.2e}")
        else:
            print(
                f"\n{pair.replace('_vs_', ' vs ')} (INT8 ONNX vs FP32 PyTorch encoder): "
                f"ids equal {check['ids_equal']}, "
                f"{check['same_label_share']:.2%} same labels; confidence |diff| mean "
                f"{check['confidence_mean_abs_diff']:.4f}, "
                f"max {check['confidence_max_abs_diff']:.4f}"
            )


if __name__ == "__main__":
    main()
