"""Out-of-scope detection on Banking77 with ten intents held out of training, beside the
maximum-probability-below-0.5 baseline, in one run.

The ten held-out intents are fixed by rule, not chosen: the sorted intent names at positions
``i * 77 // 10`` for i in 0..9. Training sees only the other 67 intents' rows of ``train.csv``
(split into train and validation by text hash, as textloop splits any data set); the test is
``test.csv``: its 67 in-scope intents' rows with their labels, and the held-out intents' rows as
out-of-scope texts. Training runs as ``textloop train --model auto`` does, through the product's
pipeline (with ``--finetuned``, fine-tuning among the candidates; without, ``ngram`` and
``embedding`` and their ensemble), and its out-of-scope detector (``models.out_of_scope``) is
learned there with no out-of-scope example, its threshold chosen on validation to keep
``out_of_scope_recall`` (0.95) of in-scope texts. The saved model is then asked about the test
texts. The baseline answers "out of scope" when the same model's best calibrated probability is
below 0.5. The curve rows read the detector's test scores at other shares kept.

Usage: python benchmarks/out_of_scope.py [--data ../shared/data/banking77] [--finetuned]
       [--json FILE]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.data.datasets import with_fixed_test_split
from textloop.models.base import ModelResources, Use, load_model
from textloop.models.out_of_scope import detector_of
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.scope_evaluation import scope_metrics
from textloop.pipeline.training import train_classifier
from textloop.store import open_store
from textloop.store.queries import get_classifier, get_model_version

RECALLS = (0.90, 0.95, 0.97)
CANDIDATES = ("ngram", "embedding")  # ``auto`` without fine-tuning; --finetuned adds it


def held_out_intents(intents: list[str]) -> list[str]:
    ordered = sorted(intents)
    return [ordered[i * len(ordered) // 10] for i in range(10)]


def read(path: Path) -> tuple[list[str], list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [row["text"] for row in rows], [row["category"] for row in rows]


def run(folder: Path, candidates: tuple[str, ...]) -> dict:
    train_texts, train_labels = read(folder / "train.csv")
    test_texts, test_labels = read(folder / "test.csv")
    held = set(held_out_intents(list(set(train_labels))))
    inside = [(t, lab) for t, lab in zip(test_texts, test_labels, strict=True) if lab not in held]
    outside = [t for t, lab in zip(test_texts, test_labels, strict=True) if lab in held]
    in_scope_train = [
        (t, lab) for t, lab in zip(train_texts, train_labels, strict=True) if lab not in held
    ]
    results: dict = {"held_out": sorted(held)}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load(data_dir=Path(tmp) / "data", database_url=None)
        store = open_store(settings)
        table = with_fixed_test_split(
            pa.table(
                {
                    "text": [t for t, _ in in_scope_train],
                    "label": [lab for _, lab in in_scope_train],
                }
            ),
            pa.table({"text": [t for t, _ in inside], "label": [lab for _, lab in inside]}),
            settings.split_fractions,
        )
        ingest_batch(store, settings, "bench", table, str(folder))
        resources = ModelResources.for_settings(settings, Use.TRAINING)  # as ``train`` runs
        started = time.perf_counter()
        report = train_classifier(
            store, settings, "bench", "auto", resources=resources, auto_candidates=candidates
        )
        results["train_seconds"] = time.perf_counter() - started
        with store.session() as session:
            record = get_model_version(session, get_classifier(session, "bench"), report.version)
            model = load_model(artifacts_for(settings).local(record.artifact_uri), resources)
        store.dispose()
        detector = detector_of(model)
        assert detector is not None, "training fitted no out-of-scope detector"
        results["model"] = report.family
        results["cascade"] = report.cascade
        results["detector"] = report.out_of_scope
        results["rows"] = {
            "train_and_validation": len(in_scope_train),
            "test_in_scope": len(inside),
            "test_out_of_scope": len(outside),
        }
        in_texts = [t for t, _ in inside]
        in_probabilities = np.asarray(model.predict_proba(in_texts))
        out_probabilities = np.asarray(model.predict_proba(outside))
        classes = np.asarray(model.classes_)
        answers = classes[in_probabilities.argmax(axis=1)]
        right = answers == np.asarray([lab for _, lab in inside])
        results["accuracy_without_detection"] = float(right.mean())
        results["baseline"] = scope_metrics(
            right,
            in_probabilities.max(axis=1) < 0.5,
            out_probabilities.max(axis=1) < 0.5,
            in_probabilities.max(axis=1),
            out_probabilities.max(axis=1),
        )
        started = time.perf_counter()  # as served: behind a cascade, its sure answers skip it
        caught_in = detector.out_of_scope(model, in_texts, in_probabilities)
        caught_out = detector.out_of_scope(model, outside, out_probabilities)
        seconds = time.perf_counter() - started
        scores_in = detector.scores(model, in_texts, in_probabilities)
        scores_out = detector.scores(model, outside, out_probabilities)
        results["textloop"] = {
            **scope_metrics(right, caught_in, caught_out, scores_in, scores_out),
            "ms_per_text": 1000 * seconds / (len(in_texts) + len(outside)),
        }
        # the same scores at other targets: the threshold each would choose on validation is
        # not kept, so these read the test scores' own quantiles, as a curve, not a claim
        for recall in RECALLS:
            cut = float(np.quantile(scores_in, 1.0 - recall))
            results[f"curve_{recall:.2f}"] = scope_metrics(right, scores_in < cut, scores_out < cut)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(__file__).parents[1] / ".." / "shared" / "data" / "banking77",
    )
    parser.add_argument("--finetuned", action="store_true", help="let auto fine-tune too")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    candidates = (*CANDIDATES, "finetuned") if args.finetuned else CANDIDATES
    results = run(args.data, candidates)
    print(f"held out: {', '.join(results['held_out'])}")
    print(f"rows: {results['rows']}")
    print(f"model: {results['model']} ({results['train_seconds']:.0f} s); {results['detector']}")
    print(f"cascade: {results['cascade'] or 'none'}")
    print(f"in-scope accuracy with no detection: {results['accuracy_without_detection']:.4f}")
    print(f"{'':34s} in-scope acc  kept   oos recall  oos precision  AUROC")
    rows = [("baseline: max probability < 0.5", results["baseline"])]
    rows.append((f"textloop (recall {results['detector']['recall']})", results["textloop"]))
    rows += [(f"  curve: keeping {r:.0%} of test", results[f"curve_{r:.2f}"]) for r in RECALLS]
    for shown, m in rows:
        print(
            f"{shown:34s} {m['in_scope_accuracy']:.4f}      {m['in_scope_kept']:.3f}  "
            f"{m['out_of_scope_recall']:.4f}      {m['out_of_scope_precision']:.4f}"
            + (f"       {m['auroc']:.4f}" if "auroc" in m else "")
        )
    base = results["baseline"]["out_of_scope_recall"]
    mine = results["textloop"]["out_of_scope_recall"]
    print(f"out-of-scope recall, textloop vs baseline: x{mine / max(base, 1e-9):.2f}")
    print(
        f"detector cost: {results['textloop']['ms_per_text']:.2f} ms per text (cached embeddings)"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
