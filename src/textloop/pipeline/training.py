"""The training pipeline: from a dataset version to a registered, evaluated, blessed model version.

    dataset ─► statistics ─► schema ─► validate ─► split ─► tune ─► train ─► evaluate
    pool (unlabelled texts) ─► tune, train     (when a candidate family learns from them)
    split + evaluate + production ─► bless          split + train ─► infra_validate
    dataset + train + evaluate + bless + infra_validate ─► push ─► deploy (on request)

``train_classifier`` checks its arguments, builds the steps and hands them to the runner, which
records every step and reuses identical earlier ones. With ``family="auto"`` the candidates are
``ngram`` and ``embedding`` plus their weighted ensemble. The test split is never seen by any fit,
and nothing is registered unless every step before ``push`` succeeds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from textloop.config import Settings
from textloop.data.label_sets import Mode
from textloop.errors import InvalidRequest
from textloop.models.base import ModelResources, Use, families
from textloop.models.compose import require_label_set_learners
from textloop.models.tags import tags_of
from textloop.pipeline.blessing import BlessingThresholds
from textloop.pipeline.component import RunWorkspace
from textloop.pipeline.components.bless import BlessStep
from textloop.pipeline.components.data_checks import (
    SchemaStep,
    SplitStep,
    StatisticsStep,
    ValidateStep,
)
from textloop.pipeline.components.deploy import DeployStep
from textloop.pipeline.components.evaluate import EvaluateStep
from textloop.pipeline.components.importers import (
    DatasetImporter,
    PoolImporter,
    ProductionImporter,
)
from textloop.pipeline.components.infra import InfraValidateStep
from textloop.pipeline.components.push import PushStep
from textloop.pipeline.components.train import TrainStep
from textloop.pipeline.components.tune import TuneStep
from textloop.pipeline.progress import Progress, SilentProgress
from textloop.pipeline.report import TrainReport
from textloop.pipeline.runner import PipelineResult, Step, downstream_of, run_pipeline
from textloop.pipeline.scope_settings import resolve_out_of_scope_label
from textloop.pipeline.slice_settings import resolve_slice_columns
from textloop.store.database import Store
from textloop.store.queries import get_classifier, resolve_dataset_version

AUTO = "auto"
FINETUNED = "finetuned"
AUTO_CANDIDATES = ("ngram", "embedding", FINETUNED)


def training_steps(
    dataset_version: int,
    candidates: tuple[str, ...],
    ignore_anomalies: bool = False,
    tune_trials: int = 0,
    tune_seconds: float = 300.0,
    slice_columns: tuple[str, ...] = (),
    thresholds: BlessingThresholds | None = None,
    deploy: bool = False,
    cascade_max_drop: float = 0.0,
    encoder_runtime: str = "onnx-int8",
    out_of_scope_recall: float = 0.0,
    out_of_scope_label: str | None = None,
    out_of_scope_test: Sequence[str] = (),
) -> list[Step]:
    limits = thresholds or BlessingThresholds()
    learns = any(tags_of(families.get(c)).learns_from_unlabelled for c in candidates)
    pool = ("pool",) if learns else ()
    steps = [
        Step("dataset", DatasetImporter(dataset_version)),
        Step("production", ProductionImporter()),
        *([Step("pool", PoolImporter())] if learns else []),
        Step("statistics", StatisticsStep(), ("dataset",)),
        Step("schema", SchemaStep(), ("dataset", "statistics")),
        Step("validate", ValidateStep(ignore_anomalies), ("dataset", "statistics", "schema")),
        Step("split", SplitStep(), ("dataset", "validate")),
        Step("tune", TuneStep(candidates, tune_trials, tune_seconds), ("split", *pool)),
        Step(
            "train",
            TrainStep(candidates, cascade_max_drop, out_of_scope_recall, out_of_scope_label),
            ("split", "tune", *pool),
        ),
        Step(
            "evaluate",
            EvaluateStep.with_out_of_scope_test(slice_columns, out_of_scope_test),
            ("split", "train"),
        ),
        Step(
            "bless",
            BlessStep(
                limits.max_absolute_drop,
                limits.max_relative_drop,
                limits.max_class_f1_drop,
                limits.min_class_support,
            ),
            ("split", "evaluate", "production"),
        ),
        Step("infra_validate", InfraValidateStep(encoder_runtime), ("split", "train")),
        Step("push", PushStep(), ("dataset", "train", "evaluate", "bless", "infra_validate")),
    ]
    if deploy:
        steps.append(Step("deploy", DeployStep(), ("push", "bless", "infra_validate")))
    return steps


def train_classifier(
    store: Store,
    settings: Settings,
    name: str,
    family: str = AUTO,
    dataset_version: int | None = None,
    resources: ModelResources | None = None,
    progress: Progress | None = None,
    auto_candidates: tuple[str, ...] = AUTO_CANDIDATES,
    ignore_anomalies: bool = False,
    use_cache: bool = True,
    from_step: str | None = None,
    slice_columns: tuple[str, ...] | None = None,
    deploy: bool = False,
    out_of_scope_label: str | None = None,
    out_of_scope_test: Sequence[str] = (),
) -> TrainReport:
    """Run the training pipeline; bad arguments fail before anything is recorded.

    How hard to train (``tune_trials``, ``tune_seconds``, ``finetune_seconds``,
    ``cascade_max_drop``) comes from ``settings`` and only from there, so a retrain, a notebook
    and the CLI train alike under one configuration; a caller with its own values passes
    ``settings.with_flags(...)``. The arguments say what to train and where it goes.

    ``slice_columns=None`` uses the classifier's stored setting; columns given are checked
    against the dataset, then stored as the setting, so that later trains and retrains keep them.
    ``out_of_scope_label`` is such a setting too (``scope_settings``). ``out_of_scope_test``:
    texts that fit none of the labels, to measure the out-of-scope detector on.
    """
    started = time.perf_counter()
    candidates = auto_for(settings, auto_candidates) if family == AUTO else (family,)
    for candidate in candidates:
        families.get(candidate)
    with store.session() as session:
        classifier = get_classifier(session, name)
        if classifier.mode == Mode.MULTI_LABEL:
            require_label_set_learners(candidates)
        dataset = resolve_dataset_version(session, classifier, dataset_version)
        dataset_number = dataset.version
        slice_columns = resolve_slice_columns(session, dataset, slice_columns)
        out_of_scope_label = resolve_out_of_scope_label(session, dataset, out_of_scope_label)
        if out_of_scope_test and (
            classifier.mode == Mode.MULTI_LABEL
            or not (settings.out_of_scope_recall or out_of_scope_label)
        ):
            raise InvalidRequest(
                "an out-of-scope test needs an out-of-scope detector: a single-label classifier "
                "trained with out_of_scope_recall above 0 or an out-of-scope label",
                field="out_of_scope_test",
            )
    steps = training_steps(
        dataset_number,
        candidates,
        ignore_anomalies,
        settings.tune_trials,
        settings.tune_seconds,
        tuple(slice_columns),
        deploy=deploy,
        cascade_max_drop=settings.cascade_max_drop,
        encoder_runtime=settings.encoder_runtime,
        out_of_scope_recall=settings.out_of_scope_recall,
        out_of_scope_label=out_of_scope_label,
        out_of_scope_test=out_of_scope_test,
    )
    if from_step is not None:
        downstream_of(steps, from_step)  # an unknown step is bad input
    parameters: dict[str, Any] = {
        "model": family,
        "candidates": list(candidates),
        "dataset_version": dataset_number,
        "ignore_anomalies": ignore_anomalies,
        "tune_trials": settings.tune_trials,
        "tune_seconds": settings.tune_seconds,
        "cascade_max_drop": settings.cascade_max_drop,
        "out_of_scope_recall": settings.out_of_scope_recall,
        "out_of_scope_label": out_of_scope_label,
        "out_of_scope_test": len(out_of_scope_test),
        "slice_columns": list(slice_columns),
        "deploy": deploy,
        "from_step": from_step,
        "use_cache": use_cache,
    }
    workspace = RunWorkspace(
        store,
        settings,
        name,
        resources or ModelResources.for_settings(settings, Use.TRAINING),
        progress or SilentProgress(),
    )
    result = run_pipeline(workspace, "train", steps, parameters, use_cache, from_step)
    return _report(name, dataset_number, result, time.perf_counter() - started)


def auto_for(settings: Settings, candidates: tuple[str, ...]) -> tuple[str, ...]:
    """``auto``'s candidates under these settings: ``finetune_seconds`` 0 turns fine-tuning
    off, so ``finetuned`` is left out (named alone, it still runs, for no steps)."""
    off = settings.finetune_seconds <= 0
    return tuple(c for c in candidates if not (off and c == FINETUNED))


def _report(name: str, dataset: int, result: PipelineResult, seconds: float) -> TrainReport:
    candidate = result.output("train").properties
    evaluation = result.output("evaluate").properties
    model = result.output("push").properties
    return TrainReport(
        classifier=name,
        version=model["version"],
        family=candidate["family"],
        dataset_version=dataset,
        test_metrics=evaluation["test"],
        calibration=evaluation["calibration"],
        blessing=result.output("bless").properties,
        candidates=candidate["validation"],
        seconds=seconds,
        cached=result.cached,
        run=result.run_id,
        steps={step: outcome.status for step, outcome in result.steps.items()},
        tuning=result.output("tune").properties,
        deployment=result.output("deploy").properties if "deploy" in result.steps else None,
        fit_reports=candidate.get("fit_reports", {}),
        skipped=candidate.get("skipped", {}),
        cascade=candidate.get("cascade", {}),
        out_of_scope=candidate.get("out_of_scope", {}),
    )
