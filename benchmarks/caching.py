"""Content-aware caching: the same ``textloop train`` twice, then once more after one row changed.

Each run is a fresh ``textloop train`` process, timed from the outside, so the figures include
starting Python. The second run should execute no step (every step "cached") and take a small
fraction of the first's time; after one row of the data changes, every step after the
``dataset`` importer runs again. The steps each run executed are printed.

Usage: python benchmarks/caching.py [--data ../shared/data/banking77] [--label-column category]
       [--model auto]
"""

from __future__ import annotations

import argparse
import csv
import os

from _cli import add_data_arguments, ingest_options, ingested, textloop

IMPORTERS = ("dataset", "production", "pool")  # they only look artifacts up: they always run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    args = parser.parse_args()
    with ingested(args) as (env, tmp):
        first, first_s = textloop(env, "train", "bench", "--model", args.model)
        second, second_s = textloop(env, "train", "bench", "--model", args.model)

        changed = tmp / "changed.csv"
        with (args.data / "train.csv").open(encoding="utf-8") as source:
            rows = list(csv.reader(source))
        rows[1][0] = rows[1][0] + " (edited)"
        with changed.open("w", newline="", encoding="utf-8") as target:
            csv.writer(target).writerows(rows)
        textloop(env, "ingest", str(changed), "-c", "bench", *ingest_options(args))
        third, third_s = textloop(env, "train", "bench", "--model", args.model)

    print(f"model {args.model} on {args.data.name}, {os.cpu_count()} CPUs")
    for name, report, seconds in (
        ("first run", first, first_s),
        ("same data again", second, second_s),
        ("one row changed", third, third_s),
    ):
        executed = [
            step
            for step, status in report["steps"].items()
            if status == "succeeded" and step not in IMPORTERS
        ]
        print(
            f"  {name:<18}{seconds:7.1f} s  version {report['version']}  "
            f"cached {report['cached']}  ({seconds / first_s:.1%} of the first run)\n"
            f"  {'':<18}executed: {', '.join(executed) or 'nothing'}"
        )


if __name__ == "__main__":
    main()
