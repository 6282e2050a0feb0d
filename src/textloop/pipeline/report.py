"""What a training run answers: the model version it registered and how that model scored."""

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
    cached: bool = False
