"""Serving speed, memory and cost per core: the PyTorch baseline and textloop side by side.

On Banking77 (train on its train file, its test file the test split and every timed text):

* the model: ``ensemble`` (word n-grams and MiniLM embeddings), calibrated; training puts the
  n-gram member first in a cascade, and a second version is trained without the cascade. The
  test accuracy and calibration error of each are printed side by side;
* baseline: the same full model with its encoder on sentence-transformers (PyTorch FP32), all
  test texts in one batched call, on one of the server's cores with one thread: its CPU time per
  text and texts per second on that core;
* the server alone: ``textloop serve`` confined to the server's cores: time to ready, resident
  memory, whether torch is loaded;
* over HTTP: ``textloop bench`` with the load generator on one core and the server on the others
  (``--client-cores``/``--server-cores``; by default the first core and the rest), every text new
  to the encoder (its cache off): latency, throughput, the server's CPU time per request (from
  ``/proc``) and the cost of that CPU time; for the cascade, the version without it, and the
  cascade with the cache on (reported apart: repeated texts are free).

Usage: python benchmarks/serving.py [--data ../shared/data/banking77] [--duration 15]
                                    [--runtime onnx-int8|onnx-fp16] [--client-cores 0]
                                    [--server-cores 1]

``--runtime onnx-fp16`` measures textloop on the FP16 export with ONNX Runtime's CUDA provider
(``benchmarks/gpu.sh`` prepares that); the baseline stays PyTorch on the CPU, the only build the
project pins.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _cli import add_data_arguments, ingested, textloop

from textloop.bench.access import temporary_api_key
from textloop.bench.cores import CoreSplit, default_split, format_cores, pinned
from textloop.bench.loadgen import Target, probe
from textloop.bench.local_server import local_server
from textloop.bench.report import DEFAULT_PRICE_PER_HOUR, DEFAULT_VCPUS, cpu_cost_per_million
from textloop.bench.server_stats import rss_bytes
from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.models.base import ModelResources, load_model
from textloop.store import open_store
from textloop.store.queries import get_classifier, get_model_version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_arguments(parser)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per HTTP phase")
    parser.add_argument("--concurrency", default="1,32")
    parser.add_argument("--runtime", default="onnx-int8", choices=["onnx-int8", "onnx-fp16"])
    parser.add_argument("--client-cores", default=None)
    parser.add_argument("--server-cores", default=None)
    args = parser.parse_args()
    cores = default_split(args.client_cores, args.server_cores)
    os.environ["TEXTLOOP_ENCODER_RUNTIME"] = args.runtime  # this process, and those it starts
    test = read_labelled_file(args.data / "test.csv", label_column=args.label_column)
    test_texts = [str(t) for t in test.column("text").to_pylist()]
    print(f"machine: {machine()}; {cores.describe()}")

    with ingested(args) as (env, _):
        env["TEXTLOOP_ENCODER_RUNTIME"] = args.runtime
        settings = Settings.load(data_dir=env["TEXTLOOP_DATA_DIR"])
        figures: dict[str, Any] = {"machine": machine(), "cores": cores.describe()}
        figures["models"] = train_both(env)
        figures["baseline"] = baseline(settings, test_texts, cores)
        figures["server"] = server_alone(settings, cores)
        figures["http"] = over_http(env, args, cores)
    report(figures)
    out = Path(os.environ.get("SERVING_JSON", "serving-benchmark.json"))
    out.write_text(json.dumps(figures, indent=2))
    print(f"\nall figures: {out}")


def machine() -> str:
    """The CPU by name, family and vector extensions: an INT8 encoder gains more than PyTorch FP32
    from VNNI, so two hosts sold under one name can give different ratios."""
    lines = Path("/proc/cpuinfo").read_text().splitlines()

    def field(name: str) -> str:
        return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith(name)), "")

    flags = set(field("flags").split())
    vectors = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags]
    return (
        f"{os.cpu_count()} cores, {field('model name')} (family {field('cpu family')}, model "
        f"{field('model')}; {' '.join(vectors) or 'no AVX2'}), Python {platform.python_version()}"
    )


def train_both(env: dict[str, str]) -> dict[str, Any]:
    """Version 1 with the cascade (deployed), version 2 the same model without it."""
    models = {}
    for version, drop in ((1, "0.001"), (2, "0")):
        result, seconds = textloop(
            env, "train", "bench", "--model", "ensemble", "--cascade-max-drop", drop
        )
        cascade = result["calibration"].get("cascade")
        test = result["test_metrics"]
        models["cascade" if version == 1 else "full"] = {
            "version": result["version"],
            "accuracy": test["accuracy"],
            "ece": test["ece"],
            "answered_early": cascade["answered_early"] if cascade else 0.0,
            "threshold": result.get("cascade", {}).get("threshold"),
        }
        print(
            f"trained version {result['version']} in {seconds:.0f} s: test accuracy "
            f"{test['accuracy']:.4f}, ECE {test['ece']:.4f}"
            + (f", {cascade['answered_early']:.1%} answered by the n-gram stage" if cascade else "")
        )
    textloop(env, "deploy", "bench", "--version", "1")
    return models


def baseline(settings: Settings, texts: list[str], cores: CoreSplit) -> dict[str, Any]:
    """The full model (no cascade) on PyTorch FP32, every text in one batched call, on one of
    the server's cores with one thread."""
    import torch

    torch.set_num_threads(1)
    core = frozenset(sorted(cores.server)[:1]) if cores.server else None
    with open_store(settings).session() as session:
        record = get_model_version(session, get_classifier(session, "bench"), 2)
        model = load_model(settings.artifact_root / record.artifact_uri, ModelResources())
    with pinned(core):
        model.predict_proba(texts[:64])  # loads the encoder and warms it
        cpu, wall = time.process_time(), time.perf_counter()
        model.predict_proba(texts)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    figures = {
        "core": format_cores(core),
        "cpu_ms_per_text": cpu * 1000 / len(texts),
        "texts_per_second": len(texts) / wall,
    }
    print(
        f"baseline (PyTorch FP32, batched, core {figures['core']}, 1 thread): "
        f"{figures['cpu_ms_per_text']:.2f} ms CPU per text, "
        f"{figures['texts_per_second']:.0f} texts/s"
    )
    return figures


def server_alone(settings: Settings, cores: CoreSplit) -> dict[str, Any]:
    """Ready time, memory and loaded libraries of ``textloop serve`` on the server's cores."""
    store = open_store(settings)
    with local_server(settings, cores=cores.server) as server:
        with temporary_api_key(store, "bench") as key:
            probe(Target.from_url(server.url, "bench", key), "I am still waiting on my card?")
        maps = Path(f"/proc/{server.pid}/maps").read_text()
        figures = {
            "ready_seconds": server.ready_seconds,
            "rss_mib": rss_bytes(server.pid) / 2**20,
            "torch_loaded": "libtorch" in maps,
            "sklearn_loaded": "sklearn" in maps,
        }
    print(
        f"textloop serve on cores {format_cores(cores.server)}: ready in "
        f"{figures['ready_seconds']:.2f} s, {figures['rss_mib']:.0f} MiB resident, "
        f"torch loaded: {figures['torch_loaded']}"
    )
    return figures


def over_http(env: dict[str, str], args: argparse.Namespace, cores: CoreSplit) -> dict[str, Any]:
    runs = {
        "cascade": ("1", {"TEXTLOOP_EMBEDDING_CACHE": "0"}),
        "full": ("2", {"TEXTLOOP_EMBEDDING_CACHE": "0"}),
        "cascade_cache_on": ("1", {}),
    }
    results = {}
    for name, (version, extra) in runs.items():
        textloop(env, "deploy", "bench", "--version", version)
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
                "--client-cores",
                format_cores(cores.client),
                "--server-cores",
                format_cores(cores.server),
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
                f"{phase['server_cpu_ms_per_request']:.2f} ms server CPU per request, "
                f"{phase['errors']} errors, ${phase['cost_per_million']:.4f} per million"
            )
    textloop(env, "deploy", "bench", "--version", "1")
    return results


def report(figures: dict[str, Any]) -> None:
    http = {p["concurrency"]: p for p in figures["http"]["cascade"]["results"]}
    lone, many = http[min(http)], http[max(http)]
    base = figures["baseline"]
    served, full = figures["models"]["cascade"], figures["models"]["full"]
    server_cores = len(figures["cores"].split("server on ")[-1].split(","))
    cpu_ratio = many["server_cpu_ms_per_request"] / base["cpu_ms_per_text"]
    per_core = many["throughput"] / server_cores / base["texts_per_second"]
    base_cost = cpu_cost_per_million(DEFAULT_PRICE_PER_HOUR, DEFAULT_VCPUS, base["cpu_ms_per_text"])
    one = figures["server"]
    rows = [
        (
            f"1. HTTP, {lone['concurrency']} user: p50 / p99",
            f"{lone['p50_ms']:.2f} / {lone['p99_ms']:.2f} ms",
            "<= 3 / <= 8 ms",
        ),
        (
            f"2. server CPU per request ({many['concurrency']} users) / baseline CPU per text",
            f"{many['server_cpu_ms_per_request']:.2f} / {base['cpu_ms_per_text']:.2f} ms "
            f"= {cpu_ratio:.3f} (1/{1 / cpu_ratio:.2f})",
            "<= 0.200 (1/5)",
        ),
        (
            "   throughput per server core / baseline texts/s on one core",
            f"{many['throughput'] / server_cores:,.0f} / {base['texts_per_second']:,.0f} "
            f"= {per_core:.1f}x",
            ">= 3x",
        ),
        (
            "3. cost per million requests from server CPU time (baseline per text)",
            f"${many['cost_per_million']:.4f} (${base_cost:.4f})",
            "<= $0.03",
        ),
        (
            f"4. test accuracy served / without cascade ({served['answered_early']:.1%} early)",
            f"{served['accuracy']:.4f} / {full['accuracy']:.4f}",
            "within 0.002",
        ),
        (
            "   calibration error (ECE) served / without cascade",
            f"{served['ece']:.4f} / {full['ece']:.4f}",
            "<= 0.02",
        ),
        (
            "5. serve: ready / resident / torch loaded",
            f"{one['ready_seconds']:.2f} s / {one['rss_mib']:.0f} MiB / {one['torch_loaded']}",
            "< 3 s / < 350 MB / False",
        ),
    ]
    print("\nacceptance figures (embedding cache off, client and server on separate cores)")
    for name, value, target in rows:
        print(f"  {name:<76} {value:>26}   target {target}")


if __name__ == "__main__":
    main()
