"""Runs inside a fresh process: load a saved model, classify sample texts one at a time, report.

Invoked by ``infra_validation`` as ``python -m textloop.release.infra_probe MODEL_DIR`` with the
sample texts as a JSON list on stdin and the instance's settings in its ``TEXTLOOP_*``
environment; prints one JSON document. The model is loaded with the resources of a replica
(``Use.SERVING``), so what is measured is what will serve. Nothing here touches the database.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def main() -> None:
    directory = Path(sys.argv[1])
    texts = json.loads(sys.stdin.read())
    started = time.perf_counter()
    from textloop.config import Settings
    from textloop.models.base import ModelResources, Use, load_model
    from textloop.models.multi_label import is_multi_label

    resources = ModelResources.for_settings(Settings.load(), Use.SERVING)
    model = load_model(directory, resources)
    load_seconds = time.perf_counter() - started
    model.predict_proba(texts[:1])  # first call pays lazy initialisation, as a server's would
    latencies, rows_ok = [], True
    multi_label = is_multi_label(model)
    for text in texts:
        begin = time.perf_counter()
        probabilities = np.asarray(model.predict_proba([text]))
        latencies.append((time.perf_counter() - begin) * 1000)
        rows_ok &= probabilities.shape == (1, len(model.classes_))
        if multi_label:  # one probability per label, each on its own
            rows_ok &= bool(((probabilities >= 0) & (probabilities <= 1)).all())
        else:
            rows_ok &= bool(np.isclose(probabilities.sum(), 1.0, atol=1e-4))
    print(
        json.dumps(
            {
                "classes": list(model.classes_),
                "rows_ok": bool(rows_ok),
                "load_seconds": load_seconds,
                "p50_ms": float(np.percentile(latencies, 50)),
                "p95_ms": float(np.percentile(latencies, 95)),
                "encoders": encoder_runtimes(resources),
            }
        )
    )


def encoder_runtimes(resources: Any) -> list[str]:
    """How each encoder the model loaded runs (``onnx-int8``, ``torch``), for the record."""
    loaded = resources.encoder_pool().loaded().values() if resources.encoders else []
    return sorted({getattr(encoder, "runtime", "torch") for encoder in loaded})


if __name__ == "__main__":
    main()
