"""Train: fit each candidate family with its tuned parameters, then compose and save the model.

Candidates are fitted on the train split only; what is made of them (the winner, the ensemble,
calibration, the cascade) is ``models.compose``'s, on the validation split. The model is saved
under ``candidates/<content hash>`` until ``push`` registers it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from textloop.errors import TextloopError, TrainingError
from textloop.models.base import TextClassifier, families, fit_model, save_model
from textloop.models.compose import compose, compose_sets, refit, worth_fitting
from textloop.models.label_heads import are_label_sets, label_names
from textloop.models.out_of_scope import OutOfScopeDetector, attach, in_scope
from textloop.pipeline.component import Component, Output, RunWorkspace, Splits, warm_up
from textloop.pipeline.components.tune import (
    family_versions,
    fitted_key,
    pool_hash,
)

log = logging.getLogger(__name__)


@dataclass
class TrainStep(Component):
    candidates: tuple[str, ...]
    cascade_max_drop: float = 0.0  # 0: no cascade
    out_of_scope_recall: float = 0.0  # 0: no out-of-scope detector
    out_of_scope_label: str | None = None  # the label of out-of-scope examples, if any
    name: ClassVar[str] = "train"

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        splits = workspace.splits(inputs["split"].properties["dataset_version_id"])
        self._check(workspace.classifier, splits)
        fitted, skipped = self._fit(workspace, inputs, splits)
        validation = splits.get("validation", ([], []))
        composition = compose_sets if workspace.multi_label else compose
        composed = composition(fitted, *validation, self.cascade_max_drop)
        detector = self._detector(workspace, splits, composed.model)
        model = self._refit(workspace, inputs, splits, composed.model)
        if detector is not None:
            if model is not composed.model:  # fitted again: compared with every text it saw
                train = splits.get("train", ([], []))
                everything = in_scope(
                    train[0] + validation[0], train[1] + validation[1], self.out_of_scope_label
                )
                detector = detector.refitted(model, everything)
            attach(model, detector)
        relative, content_hash = _save_candidate(workspace, model)
        workspace.keep_model(relative, model)
        properties = {
            "path": relative,
            "family": composed.winner,
            "classes": list(model.classes_),
            "validation": composed.validation,
            "selected_from": [*fitted, *([] if len(fitted) < 2 else ["ensemble"])],
            **({"skipped": skipped} if skipped else {}),
            "calibration": composed.calibration,
            **({"cascade": composed.cascade} if composed.cascade else {}),
            **({"fit_reports": composed.fit_reports} if composed.fit_reports else {}),
            **({"out_of_scope": detector.report()} if detector is not None else {}),
        }
        return Output("candidate", content_hash, properties)

    def _detector(
        self, workspace: RunWorkspace, splits: Splits, model: TextClassifier
    ) -> OutOfScopeDetector | None:
        """The out-of-scope detector of a single-label model, its threshold chosen on the
        validation split's in-scope texts (which the model has not seen yet); none when turned
        off and the data has no out-of-scope label."""
        label = self.out_of_scope_label
        if not (self.out_of_scope_recall or label) or workspace.multi_label:
            return None
        workspace.progress.task("learning when a text fits no label")
        try:
            return OutOfScopeDetector(self.out_of_scope_recall, label=label).fit(
                model,
                in_scope(*splits.get("validation", ([], [])), label),
                in_scope(*splits.get("train", ([], [])), label),
            )
        finally:
            workspace.progress.done()

    def _refit(
        self,
        workspace: RunWorkspace,
        inputs: Mapping[str, Output],
        splits: Splits,
        model: TextClassifier,
    ) -> TextClassifier:
        """The composed model's members fitted again with the validation labels too, once
        validation has made every choice; as composed where there is no validation split."""
        texts, labels = splits.get("train", ([], []))
        more, more_labels = splits.get("validation", ([], []))
        if not more:
            return model
        unlabelled = workspace.unlabelled(inputs.get("pool"), splits)
        workspace.progress.task(f"fitting again on {len(texts) + len(more):,} texts")
        try:
            return refit(model, texts + more, labels + more_labels, workspace.resources, unlabelled)
        finally:
            workspace.progress.done()

    def _check(self, classifier: str, splits: Splits) -> None:
        train = splits.get("train", ([], []))[1]
        if are_label_sets(train):
            if not label_names(train):
                raise TrainingError(
                    f"no text of the train split of {classifier!r} carries a label; a "
                    "multi-label classifier needs at least one"
                )
        elif len(set(train)) < 2:
            labels = set(train)
            raise TrainingError(
                f"the train split of {classifier!r} has {len(labels)} distinct label(s); at "
                "least 2 are needed"
            )
        if len(self.candidates) > 1 and not splits.get("validation", ([], []))[0]:
            raise TrainingError(
                "choosing among several model families needs validation rows, and this dataset "
                "version has none; add data or name one family with --model"
            )

    def _fit(
        self, workspace: RunWorkspace, inputs: Mapping[str, Output], splits: Splits
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Each candidate worth fitting, fitted on the train split (or found fitted by tuning),
        and why any others were left out. Among several, one that cannot be fitted (an encoder
        export that does not agree, a GPU out of memory) leaves the others to win."""
        texts, labels = splits.get("train", ([], []))
        unlabelled = workspace.unlabelled(inputs.get("pool"), splits)
        everything = [text for part, _ in splits.values() for text in part] + unlabelled
        chosen: dict[str, dict[str, Any]] = inputs["tune"].properties["best"]
        fitting, skipped = worth_fitting(self.candidates, labels)
        fitted: dict[str, Any] = {}
        for family in fitting:
            split = inputs["split"].content_hash
            key = fitted_key(family, chosen[family], split, pool_hash(inputs))
            model = workspace.fitted.pop(key, None)
            if model is None:
                model = families.create(family, workspace.resources, **chosen[family])
                try:
                    warm_up(model, everything, family, workspace.progress)
                    workspace.progress.task(f"fitting {family} on {len(texts):,} texts")
                    fit_model(model, texts, labels, unlabelled)
                except (TextloopError, RuntimeError, MemoryError) as exc:
                    if len(fitting) == 1:
                        raise
                    log.warning("candidate %s left out: %s", family, exc)
                    skipped[family] = f"failed: {exc}"
                    continue
                finally:
                    workspace.progress.done()
            fitted[family] = model
        if not fitted:
            raise TrainingError(f"no candidate could be fitted: {skipped}")
        return fitted, skipped

    def parameters(self) -> dict[str, Any]:
        return {**super().parameters(), "family_versions": family_versions(self.candidates)}

    def available(self, workspace: RunWorkspace, output: Output) -> bool:
        return workspace.artifacts.exists(output.properties["path"])


def _save_candidate(workspace: RunWorkspace, model: Any) -> tuple[str, str]:
    """Save under a content address; an identical earlier candidate is kept, not duplicated."""
    return workspace.artifacts.publish_by_content(
        f"classifiers/{workspace.classifier}/candidates", lambda staging: save_model(model, staging)
    )
