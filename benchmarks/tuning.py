"""Tuning: the same ``textloop train`` with each family's defaults, then with a search budget.

Both runs are fresh ``textloop train`` processes on one ingested data set, so the second reuses
nothing but the ingested data: its ``tune`` step measures the defaults again and then tries
``--tune-trials`` more points of each family's grid on the validation split. Prints every trial,
the parameters chosen, and the test accuracy and time of both runs.

Usage: python benchmarks/tuning.py [--data ../shared/data/banking77] [--label-column category]
       [--model auto] [--trials 6]
"""

from __future__ import annotations

import argparse
import os

from _cli import add_data_arguments, ingested, textloop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--trials", type=int, default=6)
    args = parser.parse_args()
    with ingested(args) as (env, _):
        plain, plain_s = textloop(env, "train", "bench", "--model", args.model)
        tuned, tuned_s = textloop(
            env, "train", "bench", "--model", args.model, "--tune-trials", str(args.trials)
        )

    print(f"model {args.model} on {args.data.name}, {os.cpu_count()} CPUs")
    for trial in tuned["tuning"]["trials"]:
        print(
            f"  trial {trial['family']:<10} accuracy {trial['accuracy']:.4f}  "
            f"macro-F1 {trial['macro_f1']:.4f}  {trial['seconds']:6.1f} s  {trial['params']}"
        )
    for name, report, seconds in (("defaults", plain, plain_s), ("tuned", tuned, tuned_s)):
        test, ece = report["test_metrics"], report["calibration"]["ece_after"]
        print(
            f"  {name:<9} test accuracy {test['accuracy']:.4f}  macro-F1 {test['macro_f1']:.4f}  "
            f"chose {report['family']}  {seconds:6.1f} s  ECE {ece:.4f}"
        )
    gain = tuned["test_metrics"]["accuracy"] - plain["test_metrics"]["accuracy"]
    print(f"  tuned - defaults: {gain:+.4f} accuracy, x{tuned_s / plain_s:.2f} time")


if __name__ == "__main__":
    main()
