"""Serving speed, memory and cost: the PyTorch baseline and textloop side by side, in one run.

On Banking77 (train on its train file, test texts for every timing):

* baseline: the trained embedding classifier with its encoder on sentence-transformers (PyTorch,
  FP32): one text per call, and a batched ``encode`` of every text;
* textloop in process: the same classifier on the INT8 ONNX export made at training time;
* INT8 against FP32 accuracy: one head trained on each encoder's embeddings of the train file;
* textloop over HTTP: ``textloop bench`` against a real ``textloop serve``, with the embedding
  cache off (every request encodes its text: the figures that count), with batching off too
  (what batching adds or costs a lone request), and with the cache on;
* the server alone: time to ready, resident memory, whether torch is loaded, and the memory of
  three classifiers on one encoder against one.

Usage: python benchmarks/serving.py [--data ../shared/data/banking77] [--duration 15]
                                    [--runtime onnx-int8|onnx-fp16]

``--runtime onnx-fp16`` measures textloop on the FP16 export with ONNX Runtime's CUDA provider
(``benchmarks/gpu.sh`` prepares that); the baseline stays PyTorch on the CPU, the only build the
project pins. Accuracy then compares FP16 with FP32.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _cli import add_data_arguments, ingested, textloop
from sklearn.linear_model import LogisticRegression

from textloop.bench.access import temporary_api_key
from textloop.bench.loadgen import Target, probe
from textloop.bench.local_server import local_server
from textloop.bench.server_stats import rss_bytes
from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.models.base import ModelResources, load_model
from textloop.predict.deployment import production_model
from textloop.store import open_store
from textloop.store.queries import get_classifier

SINGLE = 300  # texts timed one by one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_arguments(parser)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per HTTP phase")
    parser.add_argument("--concurrency", default="1,32")
    parser.add_argument("--runtime", default="onnx-int8", choices=["onnx-int8", "onnx-fp16"])
    args = parser.parse_args()
    args.model = "embedding"
    os.environ["TEXTLOOP_ENCODER_RUNTIME"] = args.runtime  # this process, and those it starts
    train = read_labelled_file(args.data / "train.csv", label_column=args.label_column)
    test = read_labelled_file(args.data / "test.csv", label_column=args.label_column)
    train_texts = [str(t) for t in train.column("text").to_pylist()]
    train_labels = [str(t) for t in train.column("label").to_pylist()]
    test_texts = [str(t) for t in test.column("text").to_pylist()]
    test_labels = [str(t) for t in test.column("label").to_pylist()]
    print(f"machine: {machine()}")

    with ingested(args) as (env, _):
        env["TEXTLOOP_ENCODER_RUNTIME"] = args.runtime
        settings = Settings.load(data_dir=env["TEXTLOOP_DATA_DIR"])
        _, seconds = textloop(env, "train", "bench", "--model", "embedding")
        textloop(env, "deploy", "bench")
        print(
            f"trained and deployed `bench` (embedding, encoder export included) in {seconds:.0f} s"
        )
        figures: dict[str, Any] = {"machine": machine()}
        figures["in_process"] = in_process(settings, test_texts)
        figures["accuracy"] = accuracy(settings, train_texts, train_labels, test_texts, test_labels)
        figures["server"] = server_alone(settings, env, args)
        figures["http"] = over_http(env, args)
    report(figures)
    out = Path(os.environ.get("SERVING_JSON", "serving-benchmark.json"))
    out.write_text(json.dumps(figures, indent=2))
    print(f"\nall figures: {out}")


def machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), "")
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def deployed(settings: Settings, name: str, resources: ModelResources) -> Any:
    with open_store(settings).session() as session:
        version = production_model(session, get_classifier(session, name))
        return load_model(settings.artifact_root / version.artifact_uri, resources)


def in_process(settings: Settings, texts: list[str]) -> dict[str, Any]:
    """One text per call through the whole classifier (encoder, head, calibration), each text
    new to the encoder's cache, on each encoder runtime; textloop's as the server runs it (one
    thread per encoder call), the baseline as sentence-transformers runs by default."""
    baseline = deployed(settings, "bench", ModelResources())  # encoders on PyTorch
    serving = ModelResources.for_settings(settings, export_missing=False, threads=1)
    ours = deployed(settings, "bench", serving)
    results = {}
    for name, model in (("baseline", baseline), ("textloop", ours)):
        model.predict_proba(["warm up"])
        timings = []
        for text in texts[:SINGLE]:
            started = time.perf_counter()
            model.predict_proba([text])
            timings.append((time.perf_counter() - started) * 1000)
        results[name] = statistics.median(timings)
        print(f"in process, one text per call, {name}: median {results[name]:.2f} ms")
    results["ratio"] = results["baseline"] / results["textloop"]
    print(f"  textloop is {results['ratio']:.1f}x faster (target: at least 5x)")
    return {"single_ms": results}


def accuracy(
    settings: Settings,
    train_texts: list[str],
    train_labels: list[str],
    test_texts: list[str],
    test_labels: list[str],
) -> dict[str, Any]:
    """Every text encoded in one batched call per runtime (the baseline's throughput figure),
    then one head per runtime, as the embedding family trains it."""
    pools = {
        "fp32_torch": ModelResources().encoder_pool(),
        "textloop": ModelResources.for_settings(settings, export_missing=False).encoder_pool(),
    }
    texts = train_texts + test_texts
    results: dict[str, Any] = {}
    for name, pool in pools.items():
        encoder = pool.get()
        encoder.embed(["warm up"])
        started = time.perf_counter()
        vectors = encoder.embed(texts)
        seconds = time.perf_counter() - started
        head = LogisticRegression(C=10.0, max_iter=1000, class_weight="balanced")
        head.fit(vectors[: len(train_texts)], train_labels)
        score = float(head.score(vectors[len(train_texts) :], test_labels))
        results[name] = {"accuracy": score, "texts_per_second": len(texts) / seconds}
        print(
            f"{name}: batched encode {len(texts) / seconds:,.0f} texts/s; test accuracy {score:.4f}"
        )
    gap = (results["fp32_torch"]["accuracy"] - results["textloop"]["accuracy"]) * 100
    results["textloop_minus_fp32_points"] = -gap
    print(f"  {settings.encoder_runtime} is {gap:+.2f} points below FP32 (target: within 0.5)")
    return results


def server_alone(settings: Settings, env: dict[str, str], args: argparse.Namespace) -> dict:
    """Ready time, memory and loaded libraries of ``textloop serve`` with one classifier, then
    with three on the same encoder (two more trained on the test file: heads differ, the
    encoder is shared)."""
    one = _serve_and_measure(settings, ["bench"])
    for name in ("bench2", "bench3"):
        textloop(
            env,
            "ingest",
            str(args.data / "test.csv"),
            "-c",
            name,
            "--label-column",
            args.label_column,
        )
        textloop(env, "train", name, "--model", "embedding")
        textloop(env, "deploy", name)
    three = _serve_and_measure(settings, ["bench", "bench2", "bench3"])
    ratio = three["rss_mib"] / one["rss_mib"]
    print(
        f"textloop serve, one classifier: ready in {one['ready_seconds']:.2f} s, "
        f"{one['rss_mib']:.0f} MiB resident, torch loaded: {one['torch_loaded']}"
    )
    print(f"  three classifiers on one encoder: {three['rss_mib']:.0f} MiB ({ratio:.2f}x one)")
    return {"one": one, "three": three, "three_over_one": ratio}


def _serve_and_measure(settings: Settings, names: list[str]) -> dict[str, Any]:
    store = open_store(settings)
    with local_server(settings) as server:
        for name in names:
            with temporary_api_key(store, name) as key:
                probe(Target.from_url(server.url, name, key), "I am still waiting on my card?")
        maps = Path(f"/proc/{server.pid}/maps").read_text()
        return {
            "ready_seconds": server.ready_seconds,
            "rss_mib": rss_bytes(server.pid) / 2**20,
            "torch_loaded": "libtorch" in maps,
        }


def over_http(env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    runs = {
        "cache_off": {"TEXTLOOP_EMBEDDING_CACHE": "0"},
        "cache_off_unbatched": {"TEXTLOOP_EMBEDDING_CACHE": "0", "TEXTLOOP_BATCH_WAIT_MS": "0"},
        "cache_on": {},
        "cache_off_2_workers": {"TEXTLOOP_EMBEDDING_CACHE": "0"},
    }
    results = {}
    for name, extra in runs.items():
        workers = ["--workers", "2"] if name.endswith("2_workers") else []
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "textloop",
                "bench",
                "bench",
                "--concurrency",
                args.concurrency,
                "--duration",
                str(args.duration),
                *workers,
                "--json",
            ],
            env={**env, **extra},
            capture_output=True,
            text=True,
            check=True,
        )
        results[name] = json.loads(done.stdout)
        for phase in results[name]["results"]:
            print(
                f"HTTP {name}, {phase['concurrency']} users: p50 {phase['p50_ms']:.2f} ms, "
                f"p99 {phase['p99_ms']:.2f} ms, {phase['throughput']:,.0f} req/s, "
                f"{phase['errors']} errors, ${phase['cost_per_million']:.4f} per million"
            )
    return results


def report(figures: dict[str, Any]) -> None:
    http = {p["concurrency"]: p for p in figures["http"]["cache_off"]["results"]}
    unbatched = {p["concurrency"]: p for p in figures["http"]["cache_off_unbatched"]["results"]}
    lone, many = http[min(http)], http[max(http)]
    baseline_batched = figures["accuracy"]["fp32_torch"]["texts_per_second"]
    one = figures["server"]["one"]
    rows = [
        (
            "1. in process, one text: baseline / textloop median",
            f"{figures['in_process']['single_ms']['ratio']:.1f}x",
            ">= 5x",
        ),
        (
            f"2. HTTP, {lone['concurrency']} user: p50 / p99",
            f"{lone['p50_ms']:.2f} / {lone['p99_ms']:.2f} ms",
            "<= 4 / <= 12 ms",
        ),
        (
            "   batching's cost to a lone request (p50, batched - unbatched)",
            f"{lone['p50_ms'] - unbatched[lone['concurrency']]['p50_ms']:+.2f} ms",
            "<= 1 ms",
        ),
        (
            f"3. HTTP, {many['concurrency']} users: throughput / baseline batched encode",
            f"{many['throughput'] / baseline_batched:.2f}x ({many['errors']} errors)",
            ">= 2.5x, 0",
        ),
        (
            "4. textloop's encoder - FP32 accuracy (points)",
            f"{figures['accuracy']['textloop_minus_fp32_points']:+.2f}",
            "within 0.5",
        ),
        (
            "5. serve: ready / resident / torch loaded",
            f"{one['ready_seconds']:.2f} s / {one['rss_mib']:.0f} MiB / {one['torch_loaded']}",
            "< 3 s / < 350 MB / False",
        ),
        (
            "6. three classifiers on one encoder / one (memory)",
            f"{figures['server']['three_over_one']:.2f}x",
            "< 1.3x",
        ),
        (
            f"7. cost per million requests at {many['concurrency']} users (default price)",
            f"${many['cost_per_million']:.4f}",
            "< $0.05",
        ),
    ]
    print("\nacceptance figures (embedding cache off)")
    for name, value, target in rows:
        print(f"  {name:<72} {value:>24}   target {target}")


if __name__ == "__main__":
    main()
