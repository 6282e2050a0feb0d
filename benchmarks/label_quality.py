"""Label quality: how many deliberately flipped labels the confident-learning check finds.

Flips 5% of Banking77's training labels to another label at random, scores every text out of
fold (5 folds), and compares two checks in one run: the baseline flags every text whose out-of-
fold prediction disagrees with its label; textloop flags the off-diagonal of the confident joint
(``review.label_quality``). Prints recall (share of flipped rows flagged) and precision (share of
flagged rows that were flipped) for each, over the given seeds.

Usage: python benchmarks/label_quality.py [--data ../shared/data/banking77] [--family embedding]
       [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import time
from pathlib import Path

import numpy as np

from textloop.models.base import ModelResources
from textloop.review.label_quality import likely_label_errors, out_of_fold_probabilities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).parents[1] / ".." / "shared" / "data" / "banking77"
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--label-column", default="category")
    parser.add_argument("--family", default="embedding")
    parser.add_argument("--share", type=float, default=0.05)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    with (args.data / "train.csv").open(encoding="utf-8") as handle:
        rows = [(row["text"], row[args.label_column]) for row in csv.DictReader(handle)]
    texts = [text for text, _ in rows]
    classes = sorted({label for _, label in rows})
    resources = ModelResources()
    print(f"{args.data.name}: {len(rows):,} rows, {args.family}, {os.cpu_count()} CPUs")
    for seed in args.seeds:
        rng = random.Random(seed)
        flipped = set(rng.sample(range(len(rows)), round(args.share * len(rows))))
        labels = [
            rng.choice([c for c in classes if c != label]) if i in flipped else label
            for i, (_, label) in enumerate(rows)
        ]
        started = time.perf_counter()
        probabilities, order = out_of_fold_probabilities(
            texts, labels, args.family, resources=resources, seed=seed
        )
        seconds = time.perf_counter() - started
        disagree = {
            i for i, label in enumerate(labels) if order[int(np.argmax(probabilities[i]))] != label
        }
        confident = {s.index for s in likely_label_errors(probabilities, labels, order)}
        print(f"  seed {seed}: {len(flipped):,} flipped, scored out of fold in {seconds:.1f} s")
        for name, flagged in (
            ("baseline: prediction disagrees", disagree),
            ("textloop: confident joint", confident),
        ):
            hits = len(flagged & flipped)
            print(
                f"    {name:<32} flagged {len(flagged):5,}  recall {hits / len(flipped):.3f}  "
                f"precision {hits / max(1, len(flagged)):.3f}"
            )


if __name__ == "__main__":
    main()
