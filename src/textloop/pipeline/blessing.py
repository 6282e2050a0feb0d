"""Bless: a candidate may replace production only if it is not worse on the same test rows.

Both models are scored on the candidate's test split. The candidate is refused when accuracy (for
a multi-label classifier, micro-F1) or macro-F1 drops by more than the absolute or the relative
allowance, or when any class with enough test rows loses more F1 than ``max_class_f1_drop``. The
verdict keeps the numbers and the reasons.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class BlessingThresholds:
    max_absolute_drop: float = 0.005  # on accuracy and on macro-F1
    max_relative_drop: float = 0.01  # fraction of production's figure
    max_class_f1_drop: float = 0.15
    min_class_support: int = 10  # classes with fewer test rows are too noisy to judge


@dataclass
class Verdict:
    blessed: bool
    production_version: int | None
    reasons: list[str] = field(default_factory=list)
    candidate: dict[str, float] = field(default_factory=dict)
    production: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def headline_metrics(evaluation: dict[str, Any]) -> tuple[str, str]:
    """What a model is judged by: accuracy and macro-F1, or for label sets (an evaluation
    whose ``headline`` says so) micro-F1 and macro-F1."""
    return (evaluation.get("headline", "accuracy"), "macro_f1")


def bless(
    candidate: dict[str, Any],
    production: dict[str, Any] | None,
    production_version: int | None,
    thresholds: BlessingThresholds | None = None,
) -> Verdict:
    """Compare two ``evaluate`` results computed on the same rows."""
    limits = thresholds or BlessingThresholds()
    metrics = headline_metrics(candidate)
    headline = {m: candidate.get(m, 0.0) for m in metrics}
    if production is None or not production.get("rows"):
        return Verdict(True, None, ["no production model to compare with"], headline)
    reasons = []
    for metric in metrics:
        new, old = candidate[metric], production[metric]
        allowed = max(limits.max_absolute_drop, limits.max_relative_drop * old)
        if old - new > allowed:
            reasons.append(
                f"{metric} {new:.4f} is {old - new:.4f} below production's {old:.4f} "
                f"(allowed drop {allowed:.4f})"
            )
    for label, old_class in production.get("per_class", {}).items():
        if old_class["support"] < limits.min_class_support:
            continue
        new_f1 = candidate.get("per_class", {}).get(label, {}).get("f1", 0.0)
        if old_class["f1"] - new_f1 > limits.max_class_f1_drop:
            reasons.append(
                f"class {label!r} F1 {new_f1:.3f} fell {old_class['f1'] - new_f1:.3f} from "
                f"{old_class['f1']:.3f} (allowed {limits.max_class_f1_drop})"
            )
    old_headline = {m: production[m] for m in metrics}
    if reasons:
        return Verdict(False, production_version, reasons, headline, old_headline)
    return Verdict(
        True,
        production_version,
        [f"not worse than production version {production_version} on {candidate['rows']} rows"],
        headline,
        old_headline,
    )
