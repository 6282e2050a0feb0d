"""Learning from few labels: the frozen ``embedding`` family beside ``finetuned``, in one run.

Banking77 with a few labels per intent (drawn from its training file with each seed; the rest of
the training texts are the unlabelled pool both families may learn from), and optionally the
whole training file and AG News. Accuracy is measured on each data set's own test file; the
published 10-shot figures on Banking77 are printed beside it. Each family runs as the product
runs it: encoders on their ONNX INT8 exports, fine-tuning within its time budget.

With ``--auto``, each seed's labels are split as the product splits them (by text hash: 80 %
train, 10 % validation, 10 % test) and ``auto`` is run as the training pipeline runs it: the
candidates worth fitting (``models.compose.worth_fitting``) fitted on the train split, then
``models.compose.compose`` on the validation split, then ``models.compose.refit`` on both.
Every candidate and the composed model are scored on the test file, so ``auto`` stands beside
the best single family on the same split.

Usage: python benchmarks/few_labels.py [--shots 5 10] [--seeds 0 1 2] [--no-pool]
       [--families embedding finetuned] [--full] [--ag-news] [--finetune-seconds 180]
       [--auto]
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

from textloop.data.splits import assign_split, text_hash
from textloop.models.base import ModelResources, families, fit_model
from textloop.models.compose import compose, refit, worth_fitting

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


AUTO_CANDIDATES = ("ngram", "embedding", "finetuned")  # as ``pipeline.training``
FRACTIONS = {"train": 0.8, "validation": 0.1, "test": 0.1}  # as ``Settings.split_fractions``


def test_accuracy(model: object, test: list[tuple[str, str]]) -> float:
    probabilities = model.predict_proba([t for t, _ in test])  # type: ignore[attr-defined]
    predicted = np.asarray(model.classes_)[probabilities.argmax(axis=1)]  # type: ignore[attr-defined]
    return float((predicted == np.asarray([label for _, label in test])).mean())


def measure_auto(
    labelled: list[tuple[str, str]],
    pool: list[str],
    test: list[tuple[str, str]],
    resources: ModelResources,
    seed: int,
) -> dict[str, object]:
    """``auto`` on the product's split of ``labelled``, beside each candidate it fitted."""
    split = {"train": [], "validation": [], "test": []}  # type: dict[str, list[tuple[str, str]]]
    for text, label in labelled:
        split[assign_split(text_hash(text), FRACTIONS)].append((text, label))
    texts, labels = [t for t, _ in split["train"]], [label for _, label in split["train"]]
    fitting, skipped = worth_fitting(AUTO_CANDIDATES, labels)
    fitted = {}
    started = time.perf_counter()
    for family in fitting:
        params = {"seed": seed} if family == "finetuned" else {}
        model = families.create(family, resources, **params)
        fitted[family] = fit_model(model, texts, labels, pool)
    validation = split["validation"]
    composed = compose(fitted, [t for t, _ in validation], [label for _, label in validation])
    everything = texts + [t for t, _ in validation]
    labels += [label for _, label in validation]
    model = refit(composed.model, everything, labels, resources, pool)  # as the train step does
    return {
        "auto": test_accuracy(model, test),
        "chose": composed.winner,
        "single": {family: test_accuracy(model, test) for family, model in fitted.items()},
        "skipped": skipped,
        "train": len(texts),
        "validation": len(validation),
        "fit_seconds": time.perf_counter() - started,
    }


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
    parser.add_argument("--auto", action="store_true", help="auto beside its single families")
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
                if args.auto:
                    found = measure_auto(labelled, pool, banking_test, resources, seed)
                    best = max(found["single"].values())  # type: ignore[attr-defined]
                    found |= {"shots": shots, "seed": seed, "best_single": best}
                    found["auto_minus_best_points"] = round(100 * (found["auto"] - best), 2)
                    figures.append(found)
                    print(json.dumps(found), flush=True)
                    continue
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
    if args.auto:
        head = ("labels", "seed", "auto", "chose", "best single", "auto - best")
        print("{:>8} {:>5} {:>8} {:<10} {:>12} {:>12}".format(*head))
        for f in figures:
            print(f"{f['shots']:>8} {f['seed']:>5} {f['auto']:>8.4f} {f['chose']:<10} "
                  f"{f['best_single']:>12.4f} {f['auto_minus_best_points']:>+11.2f}")  # fmt: skip
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
        return
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
