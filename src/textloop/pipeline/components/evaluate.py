"""Evaluate: every test-split metric of the candidate, and its calibration error before and after.

Slices come by text length, by label (``per_class``) and by each extra column named in
``slice_columns``. A multi-label classifier's model is judged on label sets
(``multilabel_evaluation``): micro-F1 leads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from textloop.models.calibrated import CalibratedClassifier
from textloop.models.cascade import CascadeClassifier
from textloop.models.headline import headline, headline_sets, predicted_labels
from textloop.models.label_heads import indicators
from textloop.models.out_of_scope import detector_of
from textloop.models.set_cascade import SetCascadeClassifier
from textloop.models.shared_predict import rescale
from textloop.pipeline.component import Component, Output, RunWorkspace, json_hash
from textloop.pipeline.evaluation import evaluate, expected_calibration_error
from textloop.pipeline.multilabel_evaluation import evaluate_sets, label_calibration_error
from textloop.pipeline.scope_evaluation import scope_metrics
from textloop.predict.predictor import DIRECT


@dataclass
class EvaluateStep(Component):
    slice_columns: tuple[str, ...] = ()
    name: ClassVar[str] = "evaluate"

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        candidate = inputs["train"]
        dataset_version_id = inputs["split"].properties["dataset_version_id"]
        texts, labels = workspace.splits(dataset_version_id).get("test", ([], []))
        calibration = dict(candidate.properties.get("calibration", {}))
        metrics: dict[str, Any] = {"rows": 0}
        if texts and workspace.multi_label:
            metrics, calibration = self._sets(workspace, candidate, dataset_version_id, calibration)
        elif texts:
            model = workspace.model(candidate.properties["path"])
            cascade = model if isinstance(model, CascadeClassifier) else None
            full = cascade.full if cascade is not None else model
            calibrated = isinstance(full, CalibratedClassifier)
            raw = DIRECT.predict(full.model if calibrated else full, texts)
            probabilities = rescale(raw, full.temperature_) if calibrated else raw
            if cascade is not None:
                probabilities, calibration["cascade"] = self._cascade(
                    cascade, texts, labels, probabilities
                )
            metrics = evaluate(
                labels,
                probabilities,
                model.classes_,
                texts=texts,
                columns=self._columns(workspace, dataset_version_id),
            )
            detector = detector_of(model)
            if detector is not None:  # every test text is in scope: what the detector costs
                answered = np.array(predicted_labels(probabilities, model.classes_))
                metrics["out_of_scope"] = scope_metrics(
                    answered == np.array(labels),
                    detector.out_of_scope(model, texts, probabilities),
                )
            correct = np.array(predicted_labels(raw, model.classes_)) == np.array(labels)
            calibration.update(
                ece_before=expected_calibration_error(raw.max(axis=1), correct),
                ece_after=metrics["ece"],
            )
        properties = {"test": metrics, "calibration": calibration}
        return Output("evaluation", json_hash(properties), properties)

    def _sets(
        self,
        workspace: RunWorkspace,
        candidate: Output,
        dataset_version_id: int,
        calibration: dict[str, Any],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A multi-label model's metrics (``multilabel_evaluation``), and its per-label
        calibration error before Platt scaling and after; a ``set-cascade``'s as served, its
        full stage's beside (``_set_cascade``)."""
        texts, label_sets = workspace.splits(dataset_version_id)["test"]
        model = workspace.model(candidate.properties["path"])
        cascade = model if isinstance(model, SetCascadeClassifier) else None
        full = cascade.full if cascade is not None else model
        raw = DIRECT.predict(full.model, texts)
        probabilities = full.calibrate(raw)
        if cascade is not None:
            probabilities, calibration["cascade"] = self._set_cascade(
                cascade, texts, label_sets, probabilities
            )
        metrics = evaluate_sets(
            label_sets,
            probabilities,
            model.classes_,
            model.thresholds_,
            texts=texts,
            columns=self._columns(workspace, dataset_version_id),
        )
        if cascade is not None:
            calibration["cascade"]["micro_f1"] = round(metrics["micro_f1"], 4)
        before = label_calibration_error(raw, label_sets, model.classes_)
        return metrics, {**calibration, "ece_before": before, "ece_after": metrics["ece"]}

    @staticmethod
    def _set_cascade(
        cascade: SetCascadeClassifier, texts: list[str], label_sets: list[Any], full: np.ndarray
    ) -> tuple[np.ndarray, dict[str, float]]:
        """``_cascade`` for label sets: what it answers, the share answered early, and the full
        model's micro-F1 (the served one is the test report's own)."""
        early = cascade.first.predict_proba(texts)
        truth = indicators(label_sets, cascade.classes_)
        without = headline_sets(truth, full >= cascade.thresholds_)  # the test report's counts
        return cascade.combine(early, full), {
            "answered_early": round(float(cascade.sure(early).mean()), 4),
            "micro_f1_without": round(without["micro_f1"], 4),
        }

    @staticmethod
    def _cascade(
        cascade: CascadeClassifier, texts: list[str], labels: list[str], full: np.ndarray
    ) -> tuple[np.ndarray, dict[str, float]]:
        """What the cascade answers, from the full model's probabilities already computed, and
        what it did on the test split: the share answered early, and the full model's accuracy
        beside the cascade's."""
        early = cascade.first_probabilities(texts)
        served = cascade.combine(early, full)
        return served, {
            "answered_early": round(float(cascade.sure(early).mean()), 4),
            "accuracy": round(headline(labels, served, cascade.classes_)["accuracy"], 4),
            "accuracy_without": round(headline(labels, full, cascade.classes_)["accuracy"], 4),
        }

    def _columns(
        self, workspace: RunWorkspace, dataset_version_id: int
    ) -> dict[str, list[str | None]] | None:
        if not self.slice_columns:
            return None
        from textloop.data.datasets import load_split_columns

        with workspace.store.session() as session:
            return load_split_columns(session, dataset_version_id, "test", self.slice_columns)
