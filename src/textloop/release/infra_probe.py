"""Runs inside a fresh process: load a saved model, classify sample texts one at a time, report.

Invoked by ``infra_validation`` as ``python -m textloop.release.infra_probe MODEL_DIR`` with the
sample texts as a JSON list on stdin; prints one JSON document. Nothing here touches the database.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np


def main() -> None:
    directory = Path(sys.argv[1])
    texts = json.loads(sys.stdin.read())
    started = time.perf_counter()
    from textloop.models.base import load_model

    model = load_model(directory)
    load_seconds = time.perf_counter() - started
    model.predict_proba(texts[:1])  # first call pays lazy initialisation, as a server's would
    latencies, rows_ok = [], True
    for text in texts:
        begin = time.perf_counter()
        probabilities = np.asarray(model.predict_proba([text]))
        latencies.append((time.perf_counter() - begin) * 1000)
        rows_ok &= probabilities.shape == (1, len(model.classes_))
        rows_ok &= bool(np.isclose(probabilities.sum(), 1.0, atol=1e-4))
    print(
        json.dumps(
            {
                "classes": list(model.classes_),
                "rows_ok": bool(rows_ok),
                "load_seconds": load_seconds,
                "p50_ms": float(np.percentile(latencies, 50)),
                "p95_ms": float(np.percentile(latencies, 95)),
            }
        )
    )


if __name__ == "__main__":
    main()
