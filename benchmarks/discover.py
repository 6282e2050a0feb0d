"""``discover`` on Banking77 with ten intents held out of training: how many of the missing
intents come back as clusters whose majority is that intent.

The ten held-out intents are those of ``out_of_scope.py`` (its ``held_out_intents``: the sorted
intent names at positions ``i * 77 // 10``). Training sees the other 67 intents' rows of
``train.csv`` and runs as ``textloop train --model auto --deploy`` does, through the product's
pipeline, with its out-of-scope detector. Then every row of ``test.csv`` (in-scope and held-out,
shuffled once with a fixed seed, so that no intent is "newer" than another) is classified through
the product (``predict.classify``, as the CLI's ``classify`` stores predictions and opens review
tasks), and ``discover`` runs on what the product itself chose to doubt: answers out of scope or
less sure than 0.7 (its default cutoff), in its default window. The true intents are read only
to score the clusters: a held-out intent is recovered when some cluster's majority is that
intent.

``--compare`` also clusters the same embeddings with other settings (HDBSCAN at other minimum
sizes; average-linkage agglomerative clustering at cosine distance thresholds), scored alike:
how the default was chosen.

Training takes minutes on two cores; ``--work DIR`` keeps the data directory (the trained model,
the recorded predictions) so a second run only discovers.

Usage: python benchmarks/discover.py [--data ../shared/data/banking77] [--work DIR]
       [--compare] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from _cli import BANKING77
from out_of_scope import CANDIDATES, held_out_intents, read
from sqlalchemy import func, select

from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.data.datasets import with_fixed_test_split
from textloop.models.base import ModelResources, Use
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.predict.classify import classify
from textloop.predict.model_cache import ModelCache
from textloop.registry.aliases import PRODUCTION
from textloop.review.clustering import MIN_CLUSTER_SIZE, NOISE, cluster_labels, unit_rows
from textloop.review.discovery import Discovery, Window, clusters_of, embed, read_candidates
from textloop.store import Store, open_store
from textloop.store.queries import aliased_model
from textloop.store.tables import Classifier, Prediction

NAME = "bench"
CHUNK = 512  # texts classified per call
SEED = 0


@dataclass(frozen=True)
class HeldOut:
    held: list[str]  # the held-out intents, sorted
    train: list[tuple[str, str]]  # in-scope rows of train.csv: (text, intent)
    test: list[tuple[str, str]]  # every row of test.csv, shuffled: (text, intent)

    def training_table(self, settings: Settings) -> pa.Table:
        inside = [(text, intent) for text, intent in self.test if intent not in self.held]
        return with_fixed_test_split(
            pa.table({"text": [t for t, _ in self.train], "label": [i for _, i in self.train]}),
            pa.table({"text": [t for t, _ in inside], "label": [i for _, i in inside]}),
            settings.split_fractions,
        )


def held_out(folder: Path) -> HeldOut:
    train_texts, train_intents = read(folder / "train.csv")
    test_texts, test_intents = read(folder / "test.csv")
    held = sorted(held_out_intents(list(set(train_intents))))
    test = list(zip(test_texts, test_intents, strict=True))
    random.Random(SEED).shuffle(test)
    train = [row for row in zip(train_texts, train_intents, strict=True) if row[1] not in held]
    return HeldOut(held, train, test)


def prepared(store: Store, settings: Settings, data: HeldOut, folder: Path) -> dict:
    """Train and deploy (unless the work folder holds a deployed model) and classify the test
    rows (unless that model has answered them): what was done, with its seconds."""
    done: dict = {}
    with store.session() as session:
        classifier = session.scalar(select(Classifier).where(Classifier.name == NAME))
        deployed = classifier is not None and aliased_model(session, classifier, PRODUCTION)
    if not deployed:
        ingest_batch(store, settings, NAME, data.training_table(settings), str(folder))
        started = time.perf_counter()
        resources = ModelResources.for_settings(settings, Use.TRAINING)
        report = train_classifier(
            store,
            settings,
            NAME,
            "auto",
            resources=resources,
            auto_candidates=CANDIDATES,
            deploy=True,
        )
        done["train_seconds"] = time.perf_counter() - started
        done["trained"] = {"family": report.family, "out_of_scope": report.out_of_scope}
    with store.session() as session:
        answered = session.scalar(select(func.count()).select_from(Prediction))
    if not answered:
        models = ModelCache(
            artifacts_for(settings), ModelResources.for_settings(settings, Use.BATCH)
        )
        texts = [text for text, _ in data.test]
        started = time.perf_counter()
        for start in range(0, len(texts), CHUNK):
            classify(store, models, NAME, texts[start : start + CHUNK])
        done["classify_seconds"] = time.perf_counter() - started
    return done


def scored(groups: list[list[str]], truth: dict[str, str], held: list[str]) -> dict:
    """Each cluster's majority intent and purity; which held-out intents some cluster's
    majority is."""
    clusters = []
    for texts in groups:
        intent, count = Counter(truth[text] for text in texts).most_common(1)[0]
        clusters.append(
            {"size": len(texts), "majority": intent, "purity": count / len(texts),
             "held_out": intent in held}
        )  # fmt: skip
    recovered = sorted({c["majority"] for c in clusters if c["held_out"]})
    return {
        "clusters": clusters,
        "recovered": recovered,
        "missed": [intent for intent in held if intent not in recovered],
        "clustered_texts": sum(c["size"] for c in clusters),
        "mean_purity": float(np.mean([c["purity"] for c in clusters])) if clusters else 0.0,
    }


def compare(
    vectors: np.ndarray, texts: list[str], truth: dict[str, str], held: list[str]
) -> list[dict]:
    """Other clusterings of the same embeddings, scored alike: HDBSCAN's leaves (``discover``'s
    way) and its default selection at other minimum sizes, and average-linkage agglomerative
    clustering cut at cosine distance thresholds (clusters of at least ``MIN_CLUSTER_SIZE``)."""
    from sklearn.cluster import HDBSCAN, AgglomerativeClustering

    rows_ = unit_rows(vectors)

    def default_selection(size: int) -> Callable[[], np.ndarray]:
        return lambda: HDBSCAN(min_cluster_size=size, copy=True).fit_predict(rows_)

    def agglomerative(threshold: float) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            found = AgglomerativeClustering(
                n_clusters=None, metric="cosine", linkage="average", distance_threshold=threshold
            ).fit_predict(rows_)
            sizes = Counter(found.tolist())
            return np.asarray([n if sizes[n] >= MIN_CLUSTER_SIZE else NOISE for n in found])

        return run

    ways: dict[str, Callable[[], np.ndarray]] = {
        f"hdbscan leaves, min size {size}": (lambda size=size: cluster_labels(vectors, size))
        for size in (3, 4, 5)
    }
    ways |= {f"hdbscan default, min size {size}": default_selection(size) for size in (4, 5)}
    ways |= {
        f"agglomerative, cosine < {threshold}": agglomerative(threshold)
        for threshold in (0.3, 0.35, 0.4, 0.5)
    }
    rows = []
    for name, way in ways.items():
        started = time.perf_counter()
        numbers = way()
        seconds = time.perf_counter() - started
        groups = [
            [texts[i] for i in np.flatnonzero(numbers == n)]
            for n in sorted(set(numbers.tolist()) - {NOISE})
        ]
        result = scored(groups, truth, held)
        rows.append(
            {
                "way": name,
                "seconds": seconds,
                "clusters": len(groups),
                "recovered": len(result["recovered"]),
                "clustered_texts": result["clustered_texts"],
                "mean_purity": result["mean_purity"],
            }
        )
    return rows


def run(folder: Path, work: Path, with_comparison: bool, below: float | None = None) -> dict:
    data = held_out(folder)
    truth = dict(data.test)
    settings = Settings.load(data_dir=work / "data", database_url=None)
    store = open_store(settings)
    results: dict = {"held_out": data.held, "rows": {"train": len(data.train)}}
    try:
        results |= prepared(store, settings, data, folder)
        models = ModelCache(
            artifacts_for(settings), ModelResources.for_settings(settings, Use.BATCH)
        )
        started = time.perf_counter()
        candidates = read_candidates(store, NAME, Window(below=below))
        discovery: Discovery = clusters_of(candidates, models)
        results["discover_seconds"] = time.perf_counter() - started
    finally:
        store.dispose()
    texts = [candidate.text for candidate in candidates.texts]
    intents = Counter(truth[text] for text in texts)
    held_total = Counter(intent for _, intent in data.test if intent in data.held)
    results["candidates"] = {
        "predictions": candidates.predictions,
        "texts": len(texts),
        "held_out": sum(intents[intent] for intent in data.held),
        "in_scope": sum(n for intent, n in intents.items() if intent not in data.held),
        "held_out_in_test": sum(held_total.values()),
        "per_held_out_intent": {i: [intents[i], held_total[i]] for i in data.held},
    }
    results["encoder"] = discovery.encoder
    results["unclustered"] = discovery.unclustered
    results |= scored([cluster.texts for cluster in discovery.clusters], truth, data.held)
    for row, cluster in zip(results["clusters"], discovery.clusters, strict=True):
        row["keywords"] = cluster.keywords
    if with_comparison:
        model = models.get(candidates.version_id, candidates.artifact_uri)
        vectors, _, _ = embed(model, models.resources, texts)
        results["comparison"] = compare(vectors, texts, truth, data.held)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=BANKING77)
    parser.add_argument("--work", type=Path, help="keep the data directory here, and reuse it")
    parser.add_argument("--compare", action="store_true", help="score other clusterings too")
    parser.add_argument(
        "--below",
        type=float,
        help="discover --below (default: 0.7, or the review threshold where higher)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    for name in [name for name in os.environ if name.startswith("TEXTLOOP_")]:
        del os.environ[name]  # the product's defaults, whatever the shell sets
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    if args.work is None:
        with tempfile.TemporaryDirectory() as tmp:
            results = run(args.data, Path(tmp), args.compare, args.below)
    else:
        args.work.mkdir(parents=True, exist_ok=True)
        results = run(args.data, args.work, args.compare, args.below)
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def report(results: dict) -> None:
    print(f"held out: {', '.join(results['held_out'])}")
    if "train_seconds" in results:
        print(f"trained: {results['trained']} in {results['train_seconds']:.0f} s")
    if "classify_seconds" in results:
        print(f"classified the test rows in {results['classify_seconds']:.0f} s")
    found = results["candidates"]
    print(
        f"candidates: {found['predictions']:,} doubted predictions, {found['texts']:,} texts: "
        f"{found['held_out']} of the {found['held_out_in_test']} held-out test texts, "
        f"{found['in_scope']} in-scope"
    )
    for intent, (caught, total) in found["per_held_out_intent"].items():
        print(f"  {intent:36s} {caught:3d} of {total} among the candidates")
    print(
        f"discover: {len(results['clusters'])} clusters, {results['clustered_texts']} texts "
        f"clustered, {results['unclustered']} unclustered, encoder {results['encoder']}, "
        f"{results['discover_seconds']:.1f} s"
    )
    print(f"{'#':>3} {'size':>5} {'purity':>6}  majority (* held out)  keywords")
    for number, cluster in enumerate(results["clusters"], start=1):
        mark = "*" if cluster["held_out"] else " "
        print(
            f"{number:3d} {cluster['size']:5d} {cluster['purity']:6.2f}  {mark}"
            f"{cluster['majority']:34s} {', '.join(cluster['keywords'])}"
        )
    print(
        f"recovered {len(results['recovered'])} of {len(results['held_out'])} held-out "
        f"intents: {', '.join(results['recovered'])}"
    )
    print(f"missed: {', '.join(results['missed']) or 'none'}")
    for row in results.get("comparison", []):
        print(
            f"  {row['way']:42s} clusters {row['clusters']:3d}  recovered {row['recovered']:2d}"
            f"  clustered {row['clustered_texts']:4d}  purity {row['mean_purity']:.2f}"
            f"  {row['seconds']:.2f} s"
        )


if __name__ == "__main__":
    main()
