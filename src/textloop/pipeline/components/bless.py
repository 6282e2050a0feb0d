"""Bless: the candidate may replace production only if it is not worse on the same test rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from textloop.models.headline import predicted_labels
from textloop.models.multi_label import is_multi_label
from textloop.pipeline.blessing import BlessingThresholds, bless
from textloop.pipeline.component import Component, Output, RunWorkspace, json_hash
from textloop.pipeline.evaluation import evaluate_labels
from textloop.pipeline.multilabel_evaluation import evaluate_sets

_DEFAULTS = BlessingThresholds()


@dataclass
class BlessStep(Component):
    max_absolute_drop: float = _DEFAULTS.max_absolute_drop
    max_relative_drop: float = _DEFAULTS.max_relative_drop
    max_class_f1_drop: float = _DEFAULTS.max_class_f1_drop
    min_class_support: int = _DEFAULTS.min_class_support
    name: ClassVar[str] = "bless"

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        candidate = inputs["evaluate"].properties["test"]
        production = inputs["production"].properties
        texts, labels = workspace.splits(inputs["split"].properties["dataset_version_id"]).get(
            "test", ([], [])
        )
        thresholds = BlessingThresholds(**self.parameters())
        if production.get("version") is None or not texts:
            verdict = bless(candidate, None, None, thresholds)
        else:
            current = workspace.model(production["path"])
            verdict = bless(
                candidate, _scored(current, texts, labels), production["version"], thresholds
            )
        properties = verdict.to_dict()
        return Output("blessing", json_hash(properties), properties)


def _scored(model: Any, texts: list[str], labels: list[Any]) -> dict[str, Any]:
    """Production's numbers on the candidate's test rows, as ``evaluate`` reports them."""
    probabilities = model.predict_proba(texts)
    if is_multi_label(model):
        return evaluate_sets(labels, probabilities, model.classes_, model.thresholds_)
    return evaluate_labels(labels, predicted_labels(probabilities, model.classes_))
