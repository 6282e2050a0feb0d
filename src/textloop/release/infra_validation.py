"""Infra-validate: a model must load and answer correctly in a fresh process before it serves.

The probe runs ``infra_probe`` in a new Python process (so nothing cached in this one can hide a
broken artifact) with this instance's settings, loads the model exactly as a replica does (the
encoder runtime, export and threads of ``Use.SERVING``), classifies sample texts one at a time,
and the result is checked for its label set, output shape and per-request latency against
``max_p95_ms``. Measuring any other runtime would gate on a latency nobody is ever served.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from textloop.config import Settings

MAX_P95_MS = 250.0
TIMEOUT_SECONDS = 300


@dataclass
class InfraResult:
    passed: bool
    reasons: list[str] = field(default_factory=list)
    measurements: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def infra_validate(
    model_dir: Path,
    labels: list[str],
    sample: list[str],
    settings: Settings,
    max_p95_ms: float = MAX_P95_MS,
) -> InfraResult:
    try:
        done = subprocess.run(
            [sys.executable, "-m", "textloop.release.infra_probe", str(model_dir)],
            input=json.dumps(sample),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
            env={**os.environ, **settings.environment()},
        )
    except subprocess.TimeoutExpired:
        return InfraResult(False, [f"the model did not answer within {TIMEOUT_SECONDS} s"])
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return InfraResult(False, [f"the model failed to load or classify: {last}"])
    measured = json.loads(done.stdout)
    reasons = []
    if measured["classes"] != list(labels):
        reasons.append("the loaded model's labels differ from the registered ones")
    if not measured["rows_ok"]:
        reasons.append(
            "predictions have the wrong shape, or do not sum to one (or, for label sets, are "
            "not each between 0 and 1)"
        )
    if measured["p95_ms"] > max_p95_ms:
        reasons.append(
            f"p95 latency {measured['p95_ms']:.1f} ms per text exceeds {max_p95_ms:.0f} ms"
        )
    return InfraResult(not reasons, reasons, measured)
