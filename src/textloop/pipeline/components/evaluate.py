"""Evaluate: every test-split metric of the candidate, and its calibration error before and after.

Slices come by text length, by label (``per_class``) and by each extra column named in
``slice_columns``. A multi-label classifier's model is judged on label sets
(``multilabel_evaluation``): micro-F1 leads. A model with an out-of-scope detector is also
judged on how well it tells texts that fit no label (``scope_evaluation``): the test split's
rows of the out-of-scope label and the texts of an out-of-scope test file
(``out_of_scope_test``) are the ones that should be caught.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from textloop.models.calibrated import CalibratedClassifier
from textloop.models.cascade import CascadeClassifier
from textloop.models.headline import headline, headline_sets, predicted_labels
from textloop.models.label_heads import indicators
from textloop.models.out_of_scope import OutOfScopeDetector, detector_of
from textloop.models.set_cascade import SetCascadeClassifier
from textloop.models.shared_predict import rescale
from textloop.pipeline.component import (
    NOT_A_PARAMETER,
    Component,
    Output,
    RunWorkspace,
    json_hash,
)
from textloop.pipeline.evaluation import evaluate, expected_calibration_error
from textloop.pipeline.multilabel_evaluation import evaluate_sets, label_calibration_error
from textloop.pipeline.scope_evaluation import scope_metrics
from textloop.predict.predictor import DIRECT


@dataclass
class EvaluateStep(Component):
    slice_columns: tuple[str, ...] = ()
    # texts that fit none of the labels, to measure the out-of-scope detector on; the hash of
    # them decides the output, the texts are data
    out_of_scope_test: tuple[str, ...] = field(default=(), metadata=NOT_A_PARAMETER)
    out_of_scope_test_hash: str | None = None
    name: ClassVar[str] = "evaluate"

    @classmethod
    def with_out_of_scope_test(
        cls, slice_columns: tuple[str, ...], texts: Sequence[str]
    ) -> EvaluateStep:
        texts = tuple(texts)
        return cls(slice_columns, texts, json_hash(list(texts)) if texts else None)

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
            if detector is not None:
                metrics["out_of_scope"] = self._scope(model, detector, texts, labels, probabilities)
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

    def _scope(
        self,
        model: Any,
        detector: OutOfScopeDetector,
        texts: list[str],
        labels: list[str],
        probabilities: np.ndarray,
    ) -> dict[str, float]:
        """What the detector costs on the test split's in-scope rows, and, where there are
        texts that fit no label (the split's rows of the out-of-scope label, the test file's),
        how many of them it catches."""
        truth = np.array(labels, dtype=object)
        outside = truth == detector.label
        written = np.array(texts, dtype=object)
        inside_texts = list(written[~outside])
        inside = probabilities[~outside]
        right = np.array(predicted_labels(inside, model.classes_), dtype=object) == truth[~outside]
        caught_inside = detector.out_of_scope(model, inside_texts, inside)
        outside_texts = list(written[outside])
        outside_texts += list(self.out_of_scope_test)
        if not outside_texts:
            return scope_metrics(right, caught_inside)
        beyond = probabilities[outside]
        if self.out_of_scope_test:  # as served: through the cascade and calibration
            served = np.asarray(model.predict_proba(list(self.out_of_scope_test)))
            beyond = np.concatenate([beyond, served])
        caught_outside = detector.out_of_scope(model, outside_texts, beyond)
        if not detector.recall:  # a detector of the label alone ranks nothing
            return scope_metrics(right, caught_inside, caught_outside) | {
                "out_of_scope_texts": len(outside_texts)
            }
        ranked_inside, ranked_outside = _ranked(
            model, detector, (inside_texts, inside), (outside_texts, beyond)
        )
        return scope_metrics(
            right, caught_inside, caught_outside, ranked_inside, ranked_outside
        ) | {"out_of_scope_texts": len(outside_texts)}

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


def _ranked(
    model: Any, detector: OutOfScopeDetector, *sets: tuple[list[str], np.ndarray]
) -> list[np.ndarray]:
    """Each set's in-scope scores, for AUROC; a text answered with the out-of-scope examples'
    own label ranks below every other, whatever its score says (finite: AUROC ranks, and
    refuses infinities)."""
    scores = [detector.scores(model, texts, probabilities) for texts, probabilities in sets]
    lowest = min(float(part.min(initial=0.0)) for part in scores) - 1.0
    return [
        np.where(detector.answered_with_label(model, probabilities), lowest, part)
        for (_, probabilities), part in zip(sets, scores, strict=True)
    ]
