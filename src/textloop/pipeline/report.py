"""What a training run answers: the model version it registered, how it scored, how it ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainReport:
    classifier: str
    version: int
    family: str
    dataset_version: int
    test_metrics: dict[str, Any]
    calibration: dict[str, Any] = field(default_factory=dict)
    blessing: dict[str, Any] = field(default_factory=dict)
    candidates: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: float = 0.0
    cached: bool = False  # every step reused an identical earlier execution
    run: int | None = None
    steps: dict[str, str] = field(default_factory=dict)  # step name → status
    tuning: dict[str, Any] = field(default_factory=dict)
    deployment: dict[str, Any] | None = None  # the deploy step's outcome, when one was asked
    fit_reports: dict[str, dict[str, Any]] = field(default_factory=dict)  # e.g. fine-tuning's
    skipped: dict[str, str] = field(default_factory=dict)  # candidate → why it was not fitted
    cascade: dict[str, Any] = field(default_factory=dict)  # the cheap first stage, on validation
    out_of_scope: dict[str, Any] = field(default_factory=dict)  # the detector, as fitted
