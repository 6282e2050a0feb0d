"""Active learning: how few reviewed labels each query strategy needs on Banking77.

Banking77's training texts are the pool and its test file measures accuracy. Each simulation is
a classifier whose first 150 labels are drawn from the pool at random; then, round after round,
the strategy under test turns 150 more pool texts into review tasks (``sample_pool``), an oracle
reviewer takes and decides every open task from the true labels through the portal's own code
path (``claim_next`` then ``decide``), the reviewed labels plus the fixed test rows become a new
dataset version, and the embedding model is fitted on every reviewed label (learning from the
rest of the pool as the training pipeline does), registered and deployed, so the next round is
scored by it. The pipeline's own split is bypassed: here the test file is the held-out set.

``random``, ``margin`` and the default strategy run for every seed in one run. The reference is
the same model fitted on every pool text with its true label. Prints each curve, the labels each
strategy needs to reach 99% of that accuracy, the area under the curve (mean accuracy over the
rounds), and saves a PNG of the curves.

Usage: python benchmarks/active_learning.py [--seeds 0 1 2] [--max-labels 2400]
       [--strategies random margin diverse] [--plot docs/active_learning.png]
       [--family finetuned] [--target 0.922]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from textloop.config import Settings
from textloop.data.datasets import with_fixed_test_split
from textloop.data.splits import normalize_text
from textloop.models.base import ModelResources, families, fit_model
from textloop.pipeline.ingestion import ingest_batch
from textloop.predict.model_cache import ModelCache
from textloop.registry.models import register_model
from textloop.release.deploy import deploy_model
from textloop.review.assignments import claim_next, decide
from textloop.review.export import decisions_table
from textloop.review.pool import add_to_pool, sample_pool, unlabelled_texts
from textloop.review.strategies import DEFAULT_STRATEGY
from textloop.security.accounts import create_user
from textloop.store import open_store
from textloop.store.database import Store
from textloop.store.queries import get_classifier, get_dataset_version
from textloop.store.tables import Classifier

NAME = "banking77"
FAMILY = "embedding"
FIRST, ROUND = 150, 150
SHARE = 0.99


@dataclass
class Data:
    pool: list[tuple[str, str]]
    test: list[tuple[str, str]]

    @property
    def truth(self) -> dict[str, str]:
        """True labels by text as the pool stores it (normalised)."""
        return {normalize_text(text): label for text, label in self.pool}


def read(path: Path, label_column: str) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return [(row["text"], row[label_column]) for row in csv.DictReader(handle)]


def table(rows: Sequence[tuple[str, str]]) -> pa.Table:
    return pa.table({"text": [t for t, _ in rows], "label": [label for _, label in rows]})


def accuracy(model: Any, test: Sequence[tuple[str, str]]) -> float:
    probabilities = model.predict_proba([text for text, _ in test])
    predicted = np.asarray(model.classes_)[probabilities.argmax(axis=1)]
    return float(np.mean(predicted == np.asarray([label for _, label in test])))


def full_data_accuracy(data: Data, resources: ModelResources, family: str) -> float:
    model = families.create(family, resources)
    fit_model(model, [t for t, _ in data.pool], [label for _, label in data.pool])
    return accuracy(model, data.test)


def simulate(
    data: Data,
    strategy: str,
    seed: int,
    max_labels: int,
    resources: ModelResources,
    family: str = FAMILY,
) -> list[tuple[int, float]]:
    """One learning curve: (reviewed labels, test accuracy) after each round."""
    with tempfile.TemporaryDirectory(prefix="textloop-al-") as directory:
        settings = Settings.load(data_dir=directory)
        settings.ensure_dirs()
        store = open_store(settings)
        cache = ModelCache(settings.artifact_root, resources)
        truth = data.truth
        # The classifier starts from its held-out test rows; they also declare its labels.
        ingest_batch(
            store,
            settings,
            NAME,
            with_fixed_test_split(table([]), table(data.test), {}),
            "test file",
        )
        with store.session() as session:
            oracle = create_user(session, "oracle@example.com", "oracle-password", "reviewer").id
            add_to_pool(session, NAME, [text for text, _ in data.pool])
        curve: list[tuple[int, float]] = []
        while True:
            first = not curve
            sample_pool(
                store,
                cache,
                NAME,
                FIRST if first else ROUND,
                "random" if first else strategy,
                seed,
            )
            answer_every_task(store, oracle, truth)
            labelled = reviewed_labels(store)
            model = retrain(store, settings, labelled, data, resources, family)
            curve.append((len(labelled), accuracy(model, data.test)))
            print(
                f"    {strategy:<8} seed {seed}  {curve[-1][0]:5,} labels  "
                f"accuracy {curve[-1][1]:.4f}",
                flush=True,
            )
            if len(labelled) >= max_labels:
                store.dispose()
                return curve


def answer_every_task(store: Store, oracle: int, truth: dict[str, str]) -> None:
    """The oracle works through the queue as a person in the portal does: take, decide, next."""
    while True:
        with store.session() as session:
            task = claim_next(session, NAME, oracle)
            if task is None:
                return
            decide(session, task.id, oracle, truth[task.text])


def reviewed_labels(store: Store) -> list[tuple[str, str]]:
    with store.session() as session:
        decisions = decisions_table(session, NAME).to_pylist()
    return [(row["text"], row["final_label"]) for row in decisions if row["task_status"] == "done"]


def retrain(
    store: Store,
    settings: Settings,
    labelled: list[tuple[str, str]],
    data: Data,
    resources: ModelResources,
    family: str,
) -> Any:
    """Reviewed labels + the test rows become a dataset version; the model fitted on every
    reviewed label (and the pool) is registered under it and deployed."""
    result = ingest_batch(
        store,
        settings,
        NAME,
        with_fixed_test_split(table(labelled), table(data.test), {"train": 1.0}),
        "reviewed labels",
    )
    with store.session() as session:
        classifier = get_classifier(session, NAME)
        unlabelled = unlabelled_texts(session, classifier.id)
    model = families.create(family, resources)
    fit_model(model, [t for t, _ in labelled], [label for _, label in labelled], unlabelled)
    with store.session() as session:
        classifier = session.get(Classifier, get_classifier(session, NAME).id)
        dataset = get_dataset_version(session, classifier, result.version)
        version = register_model(
            session, settings.artifact_root, classifier, dataset, model, {}
        ).version
    deploy_model(store, settings, NAME, version, force=True)
    return model


def labels_to_reach(curve: list[tuple[int, float]], target: float) -> int | None:
    return next((labels for labels, value in curve if value >= target), None)


def area(curve: list[tuple[int, float]]) -> float:
    """Mean accuracy over the rounds: the area under the curve per label, on a common grid."""
    return float(np.mean([value for _, value in curve]))


def plot(curves: dict[str, dict[int, list[tuple[int, float]]]], target: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    for strategy, by_seed in curves.items():
        labels = [n for n, _ in next(iter(by_seed.values()))]
        values = np.array([[v for _, v in curve] for curve in by_seed.values()])
        mean = values.mean(axis=0)
        axes.plot(
            labels, mean, marker="o", markersize=3, label=f"{strategy} (mean of {len(values)})"
        )
        axes.fill_between(labels, values.min(axis=0), values.max(axis=0), alpha=0.15)
    axes.axhline(target, color="grey", linestyle="--", label=f"{SHARE:.0%} of full-data accuracy")
    axes.set_xlabel("reviewed labels")
    axes.set_ylabel("Banking77 test accuracy")
    axes.set_title("Active learning on Banking77 (embedding model, rounds of 150)")
    axes.set_ylim(0.5, 0.95)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120, bbox_inches="tight")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).parents[1]
    parser.add_argument("--data", type=Path, default=root / ".." / "shared" / "data" / "banking77")
    parser.add_argument("--label-column", default="category")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-labels", type=int, default=2400)
    parser.add_argument("--strategies", nargs="+", default=["random", "margin", DEFAULT_STRATEGY])
    parser.add_argument("--plot", type=Path, default=root / "docs" / "active_learning.png")
    parser.add_argument("--json", type=Path, help="also write the curves to this file")
    parser.add_argument("--family", default=FAMILY, help="the learner (finetuned, say)")
    parser.add_argument(
        "--target", type=float, help=f"the accuracy to reach (default: {SHARE:.0%} of full data)"
    )
    args = parser.parse_args()
    data = Data(
        read(args.data / "train.csv", args.label_column),
        read(args.data / "test.csv", args.label_column),
    )
    resources = (
        ModelResources(runtime="onnx-int8", export_missing=True)
        if args.family == "finetuned"
        else ModelResources()
    )
    started = time.perf_counter()
    print(
        f"Banking77: pool {len(data.pool):,} texts, test {len(data.test):,}; {args.family} model, "
        f"{os.cpu_count()} CPUs; first {FIRST} labels random, then rounds of {ROUND}"
    )
    full: float | None = None
    if args.target is None:
        full = full_data_accuracy(data, resources, args.family)
        target = SHARE * full
        print(f"full-data accuracy {full:.4f}; {SHARE:.0%} of it: {target:.4f}", flush=True)
    else:  # given: the full-data fit (minutes when it fine-tunes) is not needed
        target = args.target
        print(f"target accuracy {target:.4f} (given)", flush=True)
    curves: dict[str, dict[int, list[tuple[int, float]]]] = {s: {} for s in args.strategies}
    for seed in args.seeds:
        for strategy in args.strategies:
            curves[strategy][seed] = simulate(
                data, strategy, seed, args.max_labels, resources, args.family
            )
    report(curves, args.seeds, target)
    plot(curves, target, args.plot)
    if args.json:
        args.json.write_text(json.dumps({"full": full, "target": target, "curves": curves}))
    print(f"plot: {args.plot}; {time.perf_counter() - started:.0f} s in all")


def report(
    curves: dict[str, dict[int, list[tuple[int, float]]]], seeds: list[int], target: float
) -> None:
    print("\nlearning curves (accuracy by reviewed labels, mean over seeds)")
    strategies = list(curves)
    grid = [n for n, _ in curves[strategies[0]][seeds[0]]]
    print("labels  " + "  ".join(f"{s:>8}" for s in strategies))
    for i, labels in enumerate(grid):
        row = [statistics.mean(curves[s][seed][i][1] for seed in seeds) for s in strategies]
        print(f"{labels:6,}  " + "  ".join(f"{value:8.4f}" for value in row))
    print(f"\nlabels to reach {target:.4f} (— means not within the run) and area under the curve")
    for strategy in strategies:
        reached = [labels_to_reach(curves[strategy][seed], target) for seed in seeds]
        shown = ", ".join("—" if r is None else f"{r:,}" for r in reached)
        mean = f"{statistics.mean(reached):,.0f}" if None not in reached else "—"
        areas = [area(curves[strategy][seed]) for seed in seeds]
        print(
            f"  {strategy:<8} labels {shown:<22} mean {mean:>6}   "
            f"AUC {', '.join(f'{a:.4f}' for a in areas)}"
        )
    baseline = "random"
    if baseline in curves:
        for strategy in strategies:
            if strategy == baseline:
                continue
            wins = sum(
                area(curves[strategy][seed]) > area(curves[baseline][seed]) for seed in seeds
            )
            print(f"  {strategy} beats random on AUC in {wins} of {len(seeds)} seeds")


if __name__ == "__main__":
    main()
