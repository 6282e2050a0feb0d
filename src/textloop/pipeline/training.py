"""Train candidates on the train split, keep the best on validation, test it, register it.

With ``family="auto"`` every built-in family is a candidate. The winner is refitted on train plus
validation before the test evaluation, since selection no longer needs the validation rows; the
test split is never seen by any fit. Nothing is registered unless every step succeeds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from textloop.config import Settings
from textloop.data.datasets import load_splits
from textloop.errors import TrainingError
from textloop.models.base import ModelResources, families
from textloop.pipeline.evaluation import evaluate
from textloop.pipeline.progress import Progress, SilentProgress
from textloop.registry.models import register_model
from textloop.store.database import Store
from textloop.store.queries import get_classifier, get_dataset_version, latest_dataset_version

AUTO = "auto"
AUTO_CANDIDATES = ("ngram", "embedding")


@dataclass
class TrainReport:
    classifier: str
    version: int
    family: str
    dataset_version: int
    test_metrics: dict[str, Any]
    candidates: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: float = 0.0


def train_classifier(
    store: Store,
    settings: Settings,
    name: str,
    family: str = AUTO,
    dataset_version: int | None = None,
    resources: ModelResources | None = None,
    progress: Progress | None = None,
    auto_candidates: tuple[str, ...] = AUTO_CANDIDATES,
) -> TrainReport:
    started = time.perf_counter()
    progress = progress or SilentProgress()
    resources = resources or ModelResources()
    candidates = list(auto_candidates) if family == AUTO else [family]
    for candidate in candidates:
        families.get(candidate)  # fail fast on an unknown family, before any work

    with store.session() as session:
        classifier = get_classifier(session, name)
        dataset = (
            latest_dataset_version(session, classifier)
            if dataset_version is None
            else get_dataset_version(session, classifier, dataset_version)
        )
        dataset_id, dataset_number = dataset.id, dataset.version
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
        model.fit(train_texts, train_labels)
        progress.done()
        fitted[candidate] = model
        if val_texts:
            metrics = evaluate(val_labels, model.predict_proba(val_texts), model.classes_)
            scores[candidate] = {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"]}

    winner = max(
        candidates,
        key=lambda c: (scores.get(c, {}).get("accuracy", 0), scores.get(c, {}).get("macro_f1", 0)),
    )
    model = fitted[winner]
    if val_texts:
        progress.task(f"refitting {winner} on train + validation")
        model = families.create(winner, resources, **model.get_params()).fit(
            train_texts + val_texts, train_labels + val_labels
        )
        progress.done()
    test_metrics = (
        evaluate(test_labels, model.predict_proba(test_texts), model.classes_)
        if test_texts
        else {"rows": 0}
    )
    metrics = {"test": test_metrics, "validation": scores, "selected_from": candidates}

    with store.session() as session:
        classifier = get_classifier(session, name)
        dataset_row = get_dataset_version(session, classifier, dataset_number)
        assert dataset_row.id == dataset_id
        record = register_model(
            session, settings.artifact_root, classifier, dataset_row, model, metrics
        )
        version = record.version
    return TrainReport(
        classifier=name,
        version=version,
        family=winner,
        dataset_version=dataset_number,
        test_metrics=test_metrics,
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
