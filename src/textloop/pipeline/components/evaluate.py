"""Evaluate: every test-split metric of the candidate, and its calibration error before and after.

Slices come by text length, by label (``per_class``) and by each extra column named in
``slice_columns``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from textloop.models.calibrated import CalibratedClassifier, rescale
from textloop.pipeline.component import Component, Output, Workspace, json_hash
from textloop.pipeline.evaluation import evaluate, expected_calibration_error, predicted_labels
from textloop.predict.predictor import DIRECT


@dataclass
class EvaluateStep(Component):
    slice_columns: tuple[str, ...] = ()
    name: ClassVar[str] = "evaluate"

    def run(self, workspace: Workspace, inputs: Mapping[str, Output]) -> Output:
        candidate = inputs["train"]
        dataset_version_id = inputs["split"].properties["dataset_version_id"]
        texts, labels = workspace.splits(dataset_version_id).get("test", ([], []))
        calibration = dict(candidate.properties.get("calibration", {}))
        metrics: dict[str, Any] = {"rows": 0}
        if texts:
            model = workspace.model(candidate.properties["path"])
            calibrated = isinstance(model, CalibratedClassifier)
            raw = DIRECT.predict(model.model if calibrated else model, texts)
            probabilities = rescale(raw, model.temperature_) if calibrated else raw
            metrics = evaluate(
                labels,
                probabilities,
                model.classes_,
                texts=texts,
                columns=self._columns(workspace, dataset_version_id),
            )
            correct = np.array(predicted_labels(raw, model.classes_)) == np.array(labels)
            calibration.update(
                ece_before=expected_calibration_error(raw.max(axis=1), correct),
                ece_after=metrics["ece"],
            )
        properties = {"test": metrics, "calibration": calibration}
        return Output("evaluation", json_hash(properties), properties)

    def _columns(
        self, workspace: Workspace, dataset_version_id: int
    ) -> dict[str, list[str | None]] | None:
        if not self.slice_columns:
            return None
        from textloop.data.datasets import load_split_columns

        with workspace.store.session() as session:
            return load_split_columns(session, dataset_version_id, "test", self.slice_columns)
