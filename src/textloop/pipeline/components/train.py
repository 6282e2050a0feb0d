"""Train: fit each candidate family with its tuned parameters, keep the best, calibrate it.

Candidates are fitted on the train split only. With more than one, their weighted ensemble
joins them (weights chosen on validation) and the best on validation wins; ties go to the earlier,
simpler candidate. The winner's confidence is calibrated on validation by temperature scaling.
Where the winner is not itself cheap and a cheap candidate was fitted too (``first_stage``: the
n-gram model, alone or inside the ensemble), the cheap one answers first in a ``cascade`` whose
threshold keeps validation accuracy within ``cascade_max_drop`` of the winner's. The model is
saved under ``candidates/<content hash>`` until ``push`` registers it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from textloop.errors import TextloopError, TrainingError
from textloop.models.base import families, fit_model, save_model
from textloop.models.calibrated import CalibratedClassifier
from textloop.models.cascade import CascadeClassifier
from textloop.pipeline.component import Component, Output, Workspace, warm_up
from textloop.pipeline.components.tune import (
    family_versions,
    fitted_key,
    pool_hash,
    worth_fitting,
)
from textloop.pipeline.evaluation import headline
from textloop.pipeline.selection import weighted_ensemble

ENSEMBLE = "ensemble"
log = logging.getLogger(__name__)


@dataclass
class TrainStep(Component):
    candidates: tuple[str, ...]
    cascade_max_drop: float = 0.0  # 0: no cascade
    name: ClassVar[str] = "train"

    def run(self, workspace: Workspace, inputs: Mapping[str, Output]) -> Output:
        split = inputs["split"]
        splits = workspace.splits(split.properties["dataset_version_id"])
        train_texts, train_labels = splits.get("train", ([], []))
        val_texts, val_labels = splits.get("validation", ([], []))
        test_texts = splits.get("test", ([], []))[0]
        unlabelled = workspace.unlabelled(inputs.get("pool"), splits)
        if len(set(train_labels)) < 2:
            raise TrainingError(
                f"the train split of {workspace.classifier!r} has {len(set(train_labels))} "
                "distinct label(s); at least 2 are needed"
            )
        if len(self.candidates) > 1 and not val_texts:
            raise TrainingError(
                "choosing among several model families needs validation rows, and this dataset "
                "version has none; add data or name one family with --model"
            )
        chosen: dict[str, dict[str, Any]] = inputs["tune"].properties["best"]
        fitted: dict[str, Any] = {}
        scores: dict[str, dict[str, float]] = {}
        fitting, skipped = worth_fitting(self.candidates, len(train_texts))
        for family in fitting:
            params = chosen[family]
            key = fitted_key(family, params, split.content_hash, pool_hash(inputs))
            model = workspace.fitted.pop(key, None)
            if model is None:
                model = families.create(family, workspace.resources, **params)
                everything = train_texts + val_texts + test_texts + unlabelled
                try:
                    warm_up(model, everything, family, workspace.progress)
                    workspace.progress.task(f"fitting {family} on {len(train_texts):,} texts")
                    fit_model(model, train_texts, train_labels, unlabelled)
                except (TextloopError, RuntimeError, MemoryError) as exc:
                    # among several, one candidate that cannot be fitted (an encoder export
                    # that does not agree, a GPU out of memory) leaves the others to win
                    if len(fitting) == 1:
                        raise
                    log.warning("candidate %s left out: %s", family, exc)
                    skipped[family] = f"failed: {exc}"
                    continue
                finally:
                    workspace.progress.done()
            fitted[family] = model
            if val_texts:
                scores[family] = headline(
                    val_labels, model.predict_proba(val_texts), model.classes_
                )
        if not fitted:
            raise TrainingError(f"no candidate could be fitted: {skipped}")
        if len(fitted) > 1:
            ensemble, scores[ENSEMBLE] = weighted_ensemble(
                list(fitted.values()), val_texts, val_labels
            )
            fitted[ENSEMBLE] = ensemble

        def rank(name: str) -> tuple[float, float]:
            score = scores.get(name, {})
            return score.get("accuracy", 0.0), score.get("macro_f1", 0.0)

        winner = max(fitted, key=rank)
        model = fitted[winner]
        calibration: dict[str, Any] = {}
        cascade: dict[str, Any] = {}
        if val_texts:
            model = CalibratedClassifier(model).fit(val_texts, val_labels)
            calibration = {"method": "temperature", "temperature": model.temperature_}
            if self.cascade_max_drop > 0:
                model, cascade = cascaded(
                    model, fitted, val_texts, val_labels, self.cascade_max_drop
                )
        relative, content_hash = _save_candidate(workspace, model)
        workspace.keep_model(relative, model)
        return Output(
            "candidate",
            content_hash,
            {
                "path": relative,
                "family": winner,
                "classes": list(model.classes_),
                "validation": scores,
                "selected_from": list(fitted),
                **({"skipped": skipped} if skipped else {}),
                "calibration": calibration,
                **({"cascade": cascade} if cascade else {}),
                **_fit_reports(fitted, scores),
            },
        )

    def parameters(self) -> dict[str, Any]:
        return {**super().parameters(), "family_versions": family_versions(self.candidates)}

    def available(self, workspace: Workspace, output: Output) -> bool:
        return workspace.artifacts.exists(output.properties["path"])


def cascaded(
    model: CalibratedClassifier,
    fitted: dict[str, Any],
    texts: list[str],
    labels: list[str],
    max_drop: float,
) -> tuple[Any, dict[str, Any]]:
    """``model`` behind a cheap first stage, with what the cascade does on validation; ``model``
    itself where it is cheap already, no cheap model was fitted, or none would answer early."""
    winner = model.model
    if getattr(winner, "first_stage", False):
        return model, {}
    members = [*fitted.values(), *getattr(winner, "models_", [])]
    cheap = [m for m in members if getattr(m, "first_stage", False)]
    if not cheap:
        return model, {}
    first = CalibratedClassifier(cheap[0]).fit(texts, labels)
    cascade = CascadeClassifier(first, model, max_drop).fit(texts, labels)
    early, full = cascade.both(texts)
    share = float(cascade.sure(early).mean())
    report = {
        "first": cheap[0].family,
        "threshold": round(cascade.threshold_, 4),
        "answered_early": round(share, 4),
        "validation_accuracy": {
            "cascade": _accuracy(labels, cascade.combine(early, full), cascade.classes_),
            "full": _accuracy(labels, full, cascade.classes_),
        },
    }
    return (cascade, report) if share > 0 else (model, {**report, "used": False})


def _accuracy(labels: list[str], probabilities: Any, classes: list[str]) -> float:
    return round(headline(labels, probabilities, classes)["accuracy"], 4)


def _fit_reports(fitted: dict[str, Any], scores: dict[str, dict[str, float]]) -> dict[str, Any]:
    """What a family says its fit did (``fit_report_``: fine-tuning's time and steps, say), with
    its gain on validation over the family it ``improves_on``, where both were candidates."""
    reports: dict[str, Any] = {}
    for family, model in fitted.items():
        report = getattr(model, "fit_report_", None)
        if report is None:
            continue
        reports[family] = dict(report)
        baseline = getattr(model, "improves_on", None)
        if family in scores and baseline in scores:
            gain = scores[family]["accuracy"] - scores[baseline]["accuracy"]
            reports[family]["validation_gain"] = {"over": baseline, "accuracy": round(gain, 4)}
    return {"fit_reports": reports} if reports else {}


def _save_candidate(workspace: Workspace, model: Any) -> tuple[str, str]:
    """Save under a content address; an identical earlier candidate is kept, not duplicated."""
    return workspace.artifacts.publish_by_content(
        f"classifiers/{workspace.classifier}/candidates", lambda staging: save_model(model, staging)
    )
