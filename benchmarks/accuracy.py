"""Accuracy of textloop's model families against the reference baselines, side by side.

For each data set in ``../shared/data`` (train on its train file, test on its test file):

* baseline TF-IDF (word 1-2 grams) + linear SVM, re-measured here;
* baseline frozen all-MiniLM-L6-v2 embeddings + scikit-learn's default logistic regression;
* textloop ``ngram``, ``embedding`` and ``auto`` (whose candidates include ``finetuned``: its
  validation score and fine-tuning report are printed), trained through the product's own
  pipeline (ingest with the file's test split, train, evaluate). ``auto`` runs as a fresh
  ``textloop train`` process, so its time includes loading the encoder and encoding every text.

Usage: python benchmarks/accuracy.py [--data ../shared/data] [--datasets banking77 ag_news]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from textloop.config import Settings
from textloop.data.datasets import with_fixed_test_split
from textloop.data.readers import read_labelled_file
from textloop.models.base import ModelResources, Use
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.store import open_store

LABEL_COLUMNS = {"banking77": "category", "ag_news": "label"}
REFERENCE = {  # ../shared/data/README.md, measured on a 2-core CPU
    "banking77": {"tfidf_svm": 0.894, "minilm_lr": 0.930},
    "ag_news": {"tfidf_svm": 0.881, "minilm_lr": 0.868},
}


def baselines(train: dict, test: dict, resources: ModelResources) -> dict[str, float]:
    started = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2))
    svm = LinearSVC().fit(vectorizer.fit_transform(train["text"]), train["label"])
    svm_accuracy = svm.score(vectorizer.transform(test["text"]), test["label"])
    svm_seconds = time.perf_counter() - started
    # Same frozen encoder and pooling as the embedding family; the encoder cache holds the vectors.
    encoder = resources.encoder_pool().get()
    started = time.perf_counter()
    head = LogisticRegression(max_iter=2000).fit(encoder.encode(train["text"]), train["label"])
    lr_accuracy = head.score(encoder.encode(test["text"]), test["label"])
    return {
        "tfidf_svm": svm_accuracy,
        "tfidf_svm_seconds": svm_seconds,
        "minilm_lr": lr_accuracy,
        "minilm_lr_head_seconds": time.perf_counter() - started,
    }


def run_dataset(folder: Path, label_column: str) -> dict:
    train_table = read_labelled_file(folder / "train.csv", label_column=label_column)
    test_table = read_labelled_file(folder / "test.csv", label_column=label_column)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load(data_dir=Path(tmp) / "data", database_url=None)
        store = open_store(settings)
        table = with_fixed_test_split(train_table, test_table, settings.split_fractions)
        ingest_batch(store, settings, "bench", table, str(folder))

        env = {**os.environ, "TEXTLOOP_DATA_DIR": str(settings.data_dir)}
        env.pop("TEXTLOOP_DATABASE_URL", None)
        started = time.perf_counter()
        auto = subprocess.run(
            [sys.executable, "-m", "textloop", "train", "bench", "--model", "auto", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        auto_seconds = time.perf_counter() - started
        auto_report = json.loads(auto.stdout)

        resources = ModelResources.for_settings(settings, Use.TRAINING)  # as ``train`` runs
        results = {
            "auto": {
                "accuracy": auto_report["test_metrics"]["accuracy"],
                "macro_f1": auto_report["test_metrics"]["macro_f1"],
                "seconds": auto_seconds,
                "chose": auto_report["family"],
                "ece_before": auto_report["calibration"].get("ece_before"),
                "ece_after": auto_report["calibration"].get("ece_after"),
                "validation": auto_report["candidates"],
                "fit_reports": auto_report.get("fit_reports", {}),
                "skipped": auto_report.get("skipped", {}),
            }
        }
        for family in ("embedding", "ngram"):
            started = time.perf_counter()
            report = train_classifier(store, settings, "bench", family, resources=resources)
            results[family] = {
                "accuracy": report.test_metrics["accuracy"],
                "macro_f1": report.test_metrics["macro_f1"],
                "seconds": time.perf_counter() - started,
                "ece_before": report.calibration.get("ece_before"),
                "ece_after": report.calibration.get("ece_after"),
            }
        train = {
            "text": train_table.column("text").to_pylist(),
            "label": train_table.column("label").to_pylist(),
        }
        test = {
            "text": test_table.column("text").to_pylist(),
            "label": test_table.column("label").to_pylist(),
        }
        # the reference runs the original encoder (PyTorch), not textloop's export
        results["baselines"] = baselines(train, test, ModelResources())
        results["rows"] = {"train": train_table.num_rows, "test": test_table.num_rows}
        store.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).parents[1] / ".." / "shared" / "data"
    )
    parser.add_argument("--datasets", nargs="+", default=list(LABEL_COLUMNS))
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    everything = {}
    for name in args.datasets:
        result = run_dataset(args.data / name, LABEL_COLUMNS[name])
        everything[name] = result
        base, reference, nan = result["baselines"], REFERENCE.get(name, {}), float("nan")
        print(f"\n{name}: {result['rows']['train']:,} train / {result['rows']['test']:,} test rows")
        print(f"  {'model':<34}{'accuracy':>9}{'macro-F1':>9}{'seconds':>9}  vs baseline, ECE")
        print(
            f"  {'baseline TF-IDF + linear SVM':<34}{base['tfidf_svm']:>9.4f}{'':>9}"
            f"{base['tfidf_svm_seconds']:>9.1f}  (README {reference.get('tfidf_svm', nan):.3f})"
        )
        print(
            f"  {'baseline MiniLM + logistic':<34}{base['minilm_lr']:>9.4f}{'':>9}"
            f"{base['minilm_lr_head_seconds']:>9.1f} (README {reference.get('minilm_lr', nan):.3f})"
        )
        pairs = {"ngram": "tfidf_svm", "embedding": "minilm_lr", "auto": "minilm_lr"}
        for family in ("ngram", "embedding", "auto"):
            row = result[family]
            label = f"textloop {family}" + (f" (chose {row['chose']})" if family == "auto" else "")
            ratio = row["accuracy"] / base[pairs[family]]
            print(
                f"  {label:<34}{row['accuracy']:>9.4f}{row['macro_f1']:>9.4f}{row['seconds']:>9.1f}"
                f"  x{ratio:.3f} of {pairs[family]}, ECE uncalibrated {row['ece_before']:.4f}"
                f" -> calibrated {row['ece_after']:.4f}"
            )
        auto = result["auto"]
        for family, scores in auto["validation"].items():
            print(f"  auto's candidate {family:<17}validation accuracy {scores['accuracy']:.4f}")
        for family, fit in auto["fit_reports"].items():
            print(f"  auto's {family} fit: {json.dumps(fit)}")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=2))


if __name__ == "__main__":
    main()
