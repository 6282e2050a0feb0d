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
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMPORTERS = ("dataset", "production")  # they only look artifacts up, so they always run


def textloop(env: dict[str, str], *args: str) -> tuple[dict, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "textloop", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).parents[1] / ".." / "shared" / "data" / "banking77"
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--label-column", default="category")
    parser.add_argument("--model", default="auto")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTLOOP_")}
        env["TEXTLOOP_DATA_DIR"] = str(Path(tmp) / "data")
        common = ["--label-column", args.label_column, "--test-file", str(args.data / "test.csv")]
        textloop(env, "ingest", str(args.data / "train.csv"), "-c", "bench", *common)
        first, first_s = textloop(env, "train", "bench", "--model", args.model)
        second, second_s = textloop(env, "train", "bench", "--model", args.model)

        changed = Path(tmp) / "changed.csv"
        with (args.data / "train.csv").open(encoding="utf-8") as source:
            rows = list(csv.reader(source))
        rows[1][0] = rows[1][0] + " (edited)"
        with changed.open("w", newline="", encoding="utf-8") as target:
            csv.writer(target).writerows(rows)
        textloop(env, "ingest", str(changed), "-c", "bench", *common)
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
