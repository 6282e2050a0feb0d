"""Learning from few labels: the frozen ``embedding`` family beside ``finetuned``, in one run.

Banking77 with a few labels per intent (drawn from its training file with each seed; the rest of
the training texts are the unlabelled pool both families may learn from), and optionally the
whole training file and AG News. Accuracy is measured on each data set's own test file; the
published 10-shot figures on Banking77 are printed beside it. Each family runs as the product
runs it: encoders on their ONNX INT8 exports, fine-tuning within its time budget.

Usage: python benchmarks/few_labels.py [--shots 5 10] [--seeds 0 1 2] [--no-pool]
       [--families embedding finetuned] [--full] [--ag-news] [--finetune-seconds 180]
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from textloop.models.base import ModelResources, families, fit_model

DATA = Path(__file__).parents[1] / ".." / "shared" / "data"
PUBLISHED_10_SHOT = {  # Banking77 test file, fine-tuned encoders
    "USE+ConveRT (Casanueva et al., 2020)": 0.852,
    "DNNC (Zhang et al., 2020)": 0.867,
    "CPFT (Zhang et al., 2021)": 0.872,
    "ICDA (Lin et al., 2023)": 0.898,
}


def read(path: Path, label_column: str) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [(row["text"], row[label_column]) for row in csv.DictReader(handle)]


def sample(rows: list[tuple[str, str]], shots: int, seed: int) -> list[tuple[str, str]]:
    by_label: dict[str, list[str]] = {}
    for text, label in rows:
        by_label.setdefault(label, []).append(text)
    rng = random.Random(seed)
    return [(t, label) for label in sorted(by_label) for t in rng.sample(by_label[label], shots)]


def measure(
    family: str,
    labelled: list[tuple[str, str]],
    pool: list[str],
    test: list[tuple[str, str]],
    resources: ModelResources,
    seed: int,
) -> dict[str, float]:
    params = {"seed": seed} if family == "finetuned" else {}
    model = families.create(family, resources, **params)
    started = time.perf_counter()
    fit_model(model, [t for t, _ in labelled], [label for _, label in labelled], pool)
    fitted = time.perf_counter() - started
    probabilities = model.predict_proba([t for t, _ in test])
    predicted = np.asarray(model.classes_)[probabilities.argmax(axis=1)]
    accuracy = float((predicted == np.asarray([label for _, label in test])).mean())
    result = {"accuracy": accuracy, "fit_seconds": fitted}
    finetuning = getattr(model, "fit_report_", None)
    if finetuning:
        result["finetune_seconds"] = finetuning["seconds"]
        result["stopped_by_budget"] = finetuning["stopped_by_budget"]
        result["device"] = finetuning["device"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--families", nargs="+", default=["embedding", "finetuned"])
    parser.add_argument("--no-pool", action="store_true", help="learn from the labels alone")
    parser.add_argument("--full", action="store_true", help="also the whole Banking77 train file")
    parser.add_argument("--ag-news", action="store_true", help="also AG News (whole train file)")
    parser.add_argument("--finetune-seconds", type=float, default=180.0)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args()

    banking_train = read(args.data / "banking77" / "train.csv", "category")
    banking_test = read(args.data / "banking77" / "test.csv", "category")
    figures: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as exports:
        resources = ModelResources(
            exports=Path(exports),
            runtime="onnx-int8",
            export_missing=True,
            finetune_seconds=args.finetune_seconds,
        )
        for shots in args.shots:
            for seed in args.seeds:
                labelled = sample(banking_train, shots, seed)
                chosen = {t for t, _ in labelled}
                pool = [] if args.no_pool else [t for t, _ in banking_train if t not in chosen]
                for family in args.families:
                    row = measure(family, labelled, pool, banking_test, resources, seed)
                    row |= {"data": "banking77", "shots": shots, "seed": seed, "family": family}
                    figures.append(row)
                    print(json.dumps(row), flush=True)
        whole = []
        if args.full:
            whole.append(("banking77", banking_train, banking_test))
        if args.ag_news:
            folder = args.data / "ag_news"
            whole.append(("ag_news", read(folder / "train.csv", "label"),
                          read(folder / "test.csv", "label")))  # fmt: skip
        for name, train, test in whole:
            for family in args.families:
                row = measure(family, train, [], test, resources, args.seeds[0])
                row |= {"data": name, "shots": "all", "seed": args.seeds[0], "family": family}
                figures.append(row)
                print(json.dumps(row), flush=True)

    print(f"\n{platform.machine()}, {platform.processor() or 'cpu'}; pool: {not args.no_pool}")
    print(f"{'data':<10} {'labels':>8} {'family':<10} {'accuracy (mean over seeds)':>28}")
    keys = sorted({(str(f["data"]), str(f["shots"]), str(f["family"])) for f in figures})
    for data, shots, family in keys:
        same = [
            f for f in figures if (f["data"], str(f["shots"]), f["family"]) == (data, shots, family)
        ]
        accuracies = [float(f["accuracy"]) for f in same]  # type: ignore[arg-type]
        spread = f" ± {statistics.stdev(accuracies):.3f}" if len(accuracies) > 1 else ""
        seconds = statistics.mean(float(f["fit_seconds"]) for f in same)  # type: ignore[arg-type]
        print(f"{data:<10} {shots:>8} {family:<10} {statistics.mean(accuracies):>20.4f}{spread}"
              f"  (fit {seconds:.0f} s)")  # fmt: skip
    print("\npublished 10-shot, Banking77:")
    for method, accuracy in PUBLISHED_10_SHOT.items():
        print(f"  {method:<40} {accuracy:.3f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
