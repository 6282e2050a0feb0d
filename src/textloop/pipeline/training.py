"""Train candidates on the train split, keep the best on validation, test it, register it.

With ``family="auto"`` the candidates are ``ngram`` and ``embedding`` plus their weighted
ensemble, whose weights are chosen on validation; the model that scores best on validation is the
one evaluated on test and registered, unchanged. The test split is never seen by any fit, and
nothing is registered unless every step succeeds. When there is a validation split the chosen
model's confidence is calibrated on it (temperature scaling) and the test split's expected
calibration error is recorded before and after.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import numpy as np

from textloop.config import Settings
from textloop.data.datasets import load_splits
from textloop.errors import InvalidRequest, NotFound, TrainingError
from textloop.metadata.recorder import (
    dataset_uri,
    find_artifact,
    model_uri,
    record_artifact,
    record_execution,
)
from textloop.models.base import ModelResources, families, load_model
from textloop.models.calibrated import CalibratedClassifier, rescale
from textloop.pipeline.blessing import Verdict, bless
from textloop.pipeline.evaluation import (
    evaluate,
    evaluate_labels,
    expected_calibration_error,
    headline,
    predicted_labels,
)
from textloop.pipeline.progress import Progress, SilentProgress
from textloop.pipeline.report import TrainReport
from textloop.pipeline.run_cache import reuse_identical_run, training_cache_key
from textloop.pipeline.selection import weighted_ensemble
from textloop.registry.models import PRODUCTION, directory_hash, register_model
from textloop.store.database import Store
from textloop.store.queries import (
    aliased_model,
    get_classifier,
    get_dataset_version,
    resolve_dataset_version,
)
from textloop.store.tables import utcnow

AUTO = "auto"
AUTO_CANDIDATES = ("ngram", "embedding")
ENSEMBLE = "ensemble"


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
) -> TrainReport:
    """Run training and record it as a ``train`` execution, failed runs included.

    When a successful run already trained with the same parameters on the same data content
    against the same production model, its model is reused and the run is recorded as ``cached``.
    """
    parameters: dict[str, Any] = {
        "model": family,
        "dataset_version": dataset_version,
        "ignore_anomalies": ignore_anomalies,
    }
    if family == AUTO:
        parameters["candidates"] = list(auto_candidates)
    started_at = utcnow()
    try:
        return _train(
            store,
            settings,
            name,
            family,
            dataset_version,
            resources,
            progress,
            auto_candidates,
            ignore_anomalies,
            parameters,
            started_at,
            use_cache,
        )
    except (NotFound, InvalidRequest):
        raise  # bad input changes nothing, not even the run history
    except Exception as exc:
        _record_failure(store, name, parameters, started_at, exc)
        raise


def _train(
    store: Store,
    settings: Settings,
    name: str,
    family: str,
    dataset_version: int | None,
    resources: ModelResources | None,
    progress: Progress | None,
    auto_candidates: tuple[str, ...],
    ignore_anomalies: bool,
    parameters: dict[str, Any],
    started_at: datetime,
    use_cache: bool,
) -> TrainReport:
    started = time.perf_counter()
    progress = progress or SilentProgress()
    resources = resources or ModelResources()
    candidates = list(auto_candidates) if family == AUTO else [family]
    for candidate in candidates:
        families.get(candidate)  # fail fast on an unknown family, before any work

    with store.session() as session:
        classifier = get_classifier(session, name)
        dataset = resolve_dataset_version(session, classifier, dataset_version)
        dataset_id, dataset_number = dataset.id, dataset.version
        errors = [a for a in dataset.anomalies or [] if a["severity"] == "error"]
        if errors and not ignore_anomalies:
            found = "; ".join(f"{a['kind']} ({a['count']})" for a in errors)
            raise TrainingError(
                f"dataset version {dataset_number} of {name!r} has blocking anomalies: {found}. "
                f"See `textloop stats {name} --dataset-version {dataset_number}`; fix the data "
                "or train with --ignore-anomalies"
            )
        key = training_cache_key(session, classifier, dataset, parameters)
        if use_cache:
            reused = reuse_identical_run(session, classifier, dataset, key, parameters, started_at)
            if reused is not None:
                reused.seconds = time.perf_counter() - started
                return reused
        splits = load_splits(session, dataset.id)

    train_texts, train_labels = splits.get("train", ([], []))
    val_texts, val_labels = splits.get("validation", ([], []))
    test_texts, test_labels = splits.get("test", ([], []))
    if len(set(train_labels)) < 2:
        raise TrainingError(
            f"the train split of {name!r} dataset version {dataset_number} has "
            f"{len(set(train_labels))} distinct label(s); at least 2 are needed"
        )
    if len(candidates) > 1 and not val_texts:
        raise TrainingError(
            f"--model {AUTO} needs validation rows to choose a model, and dataset version "
            f"{dataset_number} has none; add data or name one family with --model"
        )

    scores: dict[str, dict[str, float]] = {}
    fitted: dict[str, Any] = {}
    for candidate in candidates:
        model = families.create(candidate, resources)
        _warm_up(model, train_texts + val_texts + test_texts, candidate, progress)
        progress.task(f"fitting {candidate} on {len(train_texts):,} texts")
        fitted[candidate] = model.fit(train_texts, train_labels)
        progress.done()
        if val_texts:
            scores[candidate] = headline(val_labels, model.predict_proba(val_texts), model.classes_)
    if len(fitted) > 1 and val_texts:
        ensemble, scores[ENSEMBLE] = weighted_ensemble(list(fitted.values()), val_texts, val_labels)
        fitted[ENSEMBLE] = ensemble

    def rank(name: str) -> tuple[float, float]:
        score = scores.get(name, {})
        return score.get("accuracy", 0.0), score.get("macro_f1", 0.0)

    winner = max(fitted, key=rank)  # ties go to the earlier, simpler candidate
    model = fitted[winner]
    calibration: dict[str, Any] = {}
    test_metrics: dict[str, Any] = {"rows": 0}
    raw_test = model.predict_proba(test_texts) if test_texts else None
    if val_texts:
        model = CalibratedClassifier(model).fit(val_texts, val_labels)
        calibration = {"method": "temperature", "temperature": model.temperature_}
    if raw_test is not None:
        classes = model.classes_
        probabilities = rescale(raw_test, model.temperature_) if val_texts else raw_test
        test_metrics = evaluate(test_labels, probabilities, classes, texts=test_texts)
        correct = np.array(predicted_labels(raw_test, classes)) == np.array(test_labels)
        ece_before = expected_calibration_error(raw_test.max(axis=1), correct)
        calibration.update(ece_before=ece_before, ece_after=test_metrics["ece"])
    verdict = _bless_against_production(
        store, settings, name, resources, test_texts, test_labels, test_metrics
    )
    metrics = {
        "test": test_metrics,
        "validation": scores,
        "selected_from": list(fitted),
        "calibration": calibration,
    }

    with store.session() as session:
        classifier = get_classifier(session, name)
        dataset_row = get_dataset_version(session, classifier, dataset_number)
        assert dataset_row.id == dataset_id
        record = register_model(
            session, settings.artifact_root, classifier, dataset_row, model, metrics
        )
        record.blessing = verdict.to_dict()
        version = record.version
        inputs = [
            record_artifact(session, classifier.id, "dataset", dataset_uri(name, dataset_number))
        ]
        if verdict.production_version is not None:
            inputs.append(
                record_artifact(
                    session, classifier.id, "model", model_uri(name, verdict.production_version)
                )
            )
        output = record_artifact(
            session,
            classifier.id,
            "model",
            model_uri(name, version),
            directory_hash(settings.artifact_root / record.artifact_uri),
            {
                "model_version_id": record.id,
                "family": winner,
                "accuracy": test_metrics.get("accuracy"),
                "blessed": verdict.blessed,
            },
        )
        parameters["dataset_version"] = dataset_number
        record_execution(
            session,
            classifier.id,
            "train",
            parameters,
            started_at,
            inputs,
            [output],
            cache_key=key,
        )
    return TrainReport(
        classifier=name,
        version=version,
        family=winner,
        dataset_version=dataset_number,
        test_metrics=test_metrics,
        calibration=calibration,
        blessing=verdict.to_dict(),
        candidates=scores,
        seconds=time.perf_counter() - started,
    )


def _warm_up(model: Any, texts: list[str], family: str, progress: Progress) -> None:
    warm_up = getattr(model, "warm_up", None)
    if warm_up is None:
        return
    unique = list(dict.fromkeys(texts))
    advance = progress.task(f"encoding {len(unique):,} texts for {family}", total=len(unique))
    warm_up(unique, progress=advance)
    progress.done()


def _bless_against_production(
    store: Store,
    settings: Settings,
    name: str,
    resources: ModelResources,
    test_texts: list[str],
    test_labels: list[str],
    candidate: dict[str, Any],
) -> Verdict:
    """Score today's production model on the candidate's test rows and compare the two."""
    with store.session() as session:
        production = aliased_model(session, get_classifier(session, name), PRODUCTION)
        if production is None or not test_texts:
            return bless(candidate, None, None)
        version, path = production.version, settings.artifact_root / production.artifact_uri
    current = load_model(path, resources)
    predicted = predicted_labels(current.predict_proba(test_texts), current.classes_)
    baseline = evaluate_labels(test_labels, predicted)
    return bless(candidate, baseline, version)


def _record_failure(
    store: Store, name: str, parameters: dict[str, Any], started_at: datetime, exc: Exception
) -> None:
    message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    with store.session() as session:
        classifier = get_classifier(session, name)
        inputs = []
        number = parameters.get("dataset_version")
        if number is not None:
            found = find_artifact(session, dataset_uri(name, number))
            inputs = [found] if found is not None else []
        record_execution(
            session,
            classifier.id,
            "train",
            parameters,
            started_at,
            inputs,
            status="failed",
            error=message,
        )
