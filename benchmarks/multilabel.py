"""Multi-label accuracy: textloop ``auto`` against a TF-IDF one-vs-rest baseline, side by side.

Data: XED (Öhman et al., 2020, "XED: A Multilingual Dataset for Sentiment Analysis and Emotion
Detection", COLING; CC BY 4.0), movie subtitles annotated with Plutchik's eight emotions, one or
more per line: ``AnnotatedData/fi-annotated.tsv`` (Finnish, 14,449 lines) and
``AnnotatedData/en-annotated.tsv`` (English, 17,528). Nothing is downloaded: point ``--xed`` at
a folder holding those two files (a clone of https://github.com/Helsinki-NLP/XED, commit
76666d2, or the two files copied out of it).

Each file is split once, by the SHA-256 of the text: 15 % test, the rest the training file, which
textloop splits into train and validation by text hash as it always does. The same rows train
every model:

* baseline: TF-IDF (char_wb 2-5 + word 1-2 grams, sublinear TF) with one-vs-rest logistic
  regression (scikit-learn's defaults), each label decided at 0.5, fitted on the whole training
  file;
* the same baseline with per-label thresholds chosen on textloop's validation rows (fitted on
  the train rows only): what thresholds alone are worth;
* textloop: ``textloop ingest --multi-label`` then ``textloop train --model auto``, as fresh
  processes, test micro-F1 from its own evaluation.

Usage: python benchmarks/multilabel.py --xed DIR [--languages fi en] [--json FILE]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion

sys.path.insert(0, str(Path(__file__).parent))
from _cli import textloop

from textloop.data.splits import assign_split, text_hash
from textloop.models.label_heads import indicators
from textloop.models.label_thresholds import choose_thresholds

EMOTIONS = ("anger", "anticipation", "disgust", "fear", "joy", "sadness", "surprise", "trust")
TEST_SHARE = 15  # percent of texts, by hash


def read_xed(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text, ids = line.rsplit("\t", 1)
        names = {EMOTIONS[int(i) - 1] for i in ids.split(",")}
        rows.append((text.strip(), tuple(sorted(names))))
    return [(text, labels) for text, labels in rows if text]


def in_test(text: str) -> bool:
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % 100 < TEST_SHARE


def write_csv(path: Path, rows: list[tuple[str, tuple[str, ...]]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "labels"])
        writer.writerows((text, "|".join(labels)) for text, labels in rows)


def tfidf() -> FeatureUnion:
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
        ]
    )


def baseline(
    train: list[tuple[str, tuple[str, ...]]],
    test: list[tuple[str, tuple[str, ...]]],
    fractions: dict[str, float],
) -> dict[str, float]:
    """Micro-F1 at 0.5 (fitted on the whole training file), and with per-label thresholds
    (fitted on textloop's train rows, thresholds on its validation rows)."""
    truth = indicators([labels for _, labels in test], EMOTIONS)
    started = time.perf_counter()
    features = tfidf()
    model = OneVsRestClassifier(LogisticRegression(max_iter=1000))
    model.fit(
        features.fit_transform([t for t, _ in train]), indicators([s for _, s in train], EMOTIONS)
    )
    at_half = model.predict_proba(features.transform([t for t, _ in test])) >= 0.5
    seconds = time.perf_counter() - started

    development = {name: weight for name, weight in fractions.items() if name != "test"}
    part = {text: assign_split(text_hash(text), development) for text, _ in train}
    fit_rows = [r for r in train if part[r[0]] == "train"]
    held = [r for r in train if part[r[0]] != "train"]
    features = tfidf()
    model = OneVsRestClassifier(LogisticRegression(max_iter=1000))
    model.fit(
        features.fit_transform([t for t, _ in fit_rows]),
        indicators([s for _, s in fit_rows], EMOTIONS),
    )
    held_probabilities = model.predict_proba(features.transform([t for t, _ in held]))
    thresholds = choose_thresholds(indicators([s for _, s in held], EMOTIONS), held_probabilities)
    tuned = model.predict_proba(features.transform([t for t, _ in test])) >= thresholds
    return {
        "micro_f1": float(f1_score(truth, at_half, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(truth, at_half, average="macro", zero_division=0)),
        "seconds": seconds,
        "thresholded_micro_f1": float(f1_score(truth, tuned, average="micro", zero_division=0)),
    }


def run_language(folder: Path, language: str) -> dict:
    rows = read_xed(folder / f"{language}-annotated.tsv")
    train = [row for row in rows if not in_test(row[0])]
    test = [row for row in rows if in_test(row[0])]
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTLOOP_")}
        env["TEXTLOOP_DATA_DIR"] = str(Path(tmp) / "data")
        write_csv(Path(tmp) / "train.csv", train)
        write_csv(Path(tmp) / "test.csv", test)
        ingested, _ = textloop(
            env,
            "ingest",
            str(Path(tmp) / "train.csv"),
            "-c",
            "bench",
            "--label-column",
            "labels",
            "--multi-label",
            "--test-file",
            str(Path(tmp) / "test.csv"),
        )
        report, seconds = textloop(env, "train", "bench", "--model", "auto")
    from textloop.config import Settings

    fractions = dict(Settings.load(data_dir=Path(tmp), database_url=None).split_fractions)
    base = baseline(train, test, fractions)
    metrics = report["test_metrics"]
    return {
        "rows": {"train": len(train), "test": len(test), "splits": ingested["split_counts"]},
        "labels_per_text": round(float(np.mean([len(s) for _, s in rows])), 3),
        "textloop": {
            "micro_f1": metrics["micro_f1"],
            "macro_f1": metrics["macro_f1"],
            "subset_accuracy": metrics["subset_accuracy"],
            "hamming_loss": metrics["hamming_loss"],
            "interval": metrics.get("confidence_intervals", {}).get("micro_f1"),
            "chose": report["family"],
            "cascade": report.get("calibration", {}).get("cascade"),  # as served on test
            "validation": report["candidates"],
            "skipped": report.get("skipped", {}),
            "seconds": round(seconds, 1),
        },
        "baseline": base,
        "ratio": round(metrics["micro_f1"] / base["micro_f1"], 3),
        "ratio_to_thresholded_baseline": round(
            metrics["micro_f1"] / base["thresholded_micro_f1"], 3
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xed", type=Path, required=True, help="folder with the XED files")
    parser.add_argument("--languages", nargs="+", default=["fi", "en"])
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    results = {}
    for language in args.languages:
        result = run_language(args.xed, language)
        results[language] = result
        mine, base = result["textloop"], result["baseline"]
        print(
            f"XED {language}: {result['rows']['train']:,} training texts, "
            f"{result['rows']['test']:,} test, {result['labels_per_text']} labels per text"
        )
        print(
            f"  baseline TF-IDF OvR LR @0.5   micro-F1 {base['micro_f1']:.4f}  "
            f"macro-F1 {base['macro_f1']:.4f}  ({base['seconds']:.0f} s)"
        )
        print(f"  baseline + per-label thresholds micro-F1 {base['thresholded_micro_f1']:.4f}")
        print(
            f"  textloop auto ({mine['chose']})  micro-F1 {mine['micro_f1']:.4f} "
            f"{mine['interval']}  macro-F1 {mine['macro_f1']:.4f}  subset accuracy "
            f"{mine['subset_accuracy']:.4f}  Hamming loss {mine['hamming_loss']:.4f}  "
            f"({mine['seconds']:.0f} s)"
        )
        if mine["cascade"]:
            print(f"  cascade on test: {mine['cascade']}")
        print(
            f"  ratio textloop / baseline: {result['ratio']:.3f}x; / thresholded baseline: "
            f"{result['ratio_to_thresholded_baseline']:.3f}x"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
