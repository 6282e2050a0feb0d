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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from textloop.config import Settings
from textloop.data.datasets import load_splits
from textloop.errors import InvalidRequest, NotFound, TrainingError
from textloop.metadata.recorder import (
    cache_key,
    cached_execution,
    dataset_uri,
    find_artifact,
    model_uri,
    record_artifact,
    record_execution,
)
from textloop.models.base import ModelResources, families, load_model
from textloop.models.calibrated import CalibratedClassifier, rescale
from textloop.models.ensemble import EnsembleClassifier
from textloop.pipeline.blessing import Verdict, bless
from textloop.pipeline.evaluation import evaluate
from textloop.pipeline.progress import Progress, SilentProgress
from textloop.registry.models import PRODUCTION, directory_hash, register_model
from textloop.store.database import Store
from textloop.store.queries import (
    aliased_model,
    get_classifier,
    get_dataset_version,
    resolve_dataset_version,
)
from textloop.store.tables import Classifier, DatasetVersion, ModelVersion, utcnow

AUTO = "auto"
AUTO_CANDIDATES = ("ngram", "embedding")
ENSEMBLE = "ensemble"
WEIGHT_GRID = [round(0.1 * step, 1) for step in range(1, 10)]


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
        key = _cache_key(session, classifier, dataset, parameters)
        if use_cache:
            reused = _reuse(session, classifier, dataset, key, parameters, started_at)
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
            scores[candidate] = _scores(val_labels, model.predict_proba(val_texts), model.classes_)
    if len(fitted) > 1 and val_texts:
        ensemble, scores[ENSEMBLE] = _weighted_ensemble(
            list(fitted.values()), val_texts, val_labels
        )
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
        before = evaluate(test_labels, raw_test, classes)
        probabilities = rescale(raw_test, model.temperature_) if val_texts else raw_test
        test_metrics = evaluate(test_labels, probabilities, classes, texts=test_texts)
        calibration.update(ece_before=before["ece"], ece_after=test_metrics["ece"])
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


def _scores(labels: list[str], probabilities: np.ndarray, classes: list[str]) -> dict[str, float]:
    metrics = evaluate(labels, probabilities, classes)
    return {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"]}


def _weighted_ensemble(
    models: list[Any], texts: list[str], labels: list[str]
) -> tuple[EnsembleClassifier, dict[str, float]]:
    """The ensemble of already fitted ``models`` whose weights score best on validation.

    Two members get a grid of weights; more get equal weights. Member predictions are computed
    once and recombined, so the search costs no extra inference.
    """
    equal = EnsembleClassifier.from_fitted(models, [1.0] * len(models))
    classes = equal.classes_
    aligned = []
    for model in models:
        probabilities = np.zeros((len(texts), len(classes)))
        probabilities[:, [classes.index(c) for c in model.classes_]] = model.predict_proba(texts)
        aligned.append(probabilities)
    grid = [[w, 1 - w] for w in WEIGHT_GRID] if len(models) == 2 else [[1.0] * len(models)]
    best: tuple[tuple[float, ...], list[float]] | None = None
    for weights in grid:
        combined = sum(w * p for w, p in zip(weights, aligned, strict=True))
        score = _scores(labels, np.asarray(combined), classes)
        key = (score["accuracy"], score["macro_f1"])
        if best is None or key > best[0]:
            best = (key, weights)
    assert best is not None
    (accuracy, macro_f1), weights = best
    return EnsembleClassifier.from_fitted(models, weights), {
        "accuracy": accuracy,
        "macro_f1": macro_f1,
    }


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
    baseline = evaluate(test_labels, current.predict_proba(test_texts), current.classes_)
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


def _cache_key(
    session: Session, classifier: Classifier, dataset: DatasetVersion, parameters: dict[str, Any]
) -> str:
    production = aliased_model(session, classifier, PRODUCTION)
    production_hash = None
    if production is not None:
        artifact = find_artifact(session, model_uri(classifier.name, production.version))
        production_hash = (artifact.content_hash if artifact else None) or f"id:{production.id}"
    decisive = {k: v for k, v in parameters.items() if k != "dataset_version"}
    return cache_key("train", decisive, [dataset.content_hash, production_hash])


def _reuse(
    session: Session,
    classifier: Classifier,
    dataset: DatasetVersion,
    key: str,
    parameters: dict[str, Any],
    started_at: datetime,
) -> TrainReport | None:
    """The report of an identical earlier run, recorded again as a ``cached`` execution."""
    hit = cached_execution(session, key)
    if hit is None:
        return None
    execution, outputs = hit
    model_id = next(
        (a.properties.get("model_version_id") for a in outputs if a.type == "model"), None
    )
    model = session.get(ModelVersion, model_id) if model_id is not None else None
    if model is None:
        return None
    uri = dataset_uri(classifier.name, dataset.version)
    record_execution(
        session,
        classifier.id,
        "train",
        {**parameters, "dataset_version": dataset.version, "reused_run": execution.id},
        started_at,
        [record_artifact(session, classifier.id, "dataset", uri)],
        outputs,
        status="cached",
    )
    return TrainReport(
        classifier=classifier.name,
        version=model.version,
        family=model.params.get("inner") or model.family,
        dataset_version=dataset.version,
        test_metrics=model.metrics.get("test", {}),
        calibration=model.metrics.get("calibration", {}),
        blessing=model.blessing or {},
        candidates=model.metrics.get("validation", {}),
        cached=True,
    )
