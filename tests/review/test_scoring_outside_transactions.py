"""No model runs while a database transaction is open: on SQLite every transaction holds the
write lock, and a pool of any size must never make feedback or classification wait for it.

A probing model cache hands out models that, each time they are asked to score, try to take the
write lock from a connection of their own without waiting: it must be free every time.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.models.base import ModelResources
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.predict.classify import classify
from textloop.predict.model_cache import ModelCache
from textloop.review.feedback import record_feedback
from textloop.review.pool import add_to_pool, sample_pool
from textloop.store import Store
from textloop.store.tables import Feedback, Prediction, ReviewTask

POOL_SIZE = 20_000


class LockProbe:
    """Wraps a model; before each scoring call, records whether the write lock was free."""

    def __init__(self, model: Any, database: Path, seen: list[bool]) -> None:
        self._model, self._database, self._seen = model, database, seen
        self.classes_ = model.classes_

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        probe = sqlite3.connect(self._database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")  # fails at once if another transaction holds it
            probe.execute("ROLLBACK")
            self._seen.append(True)
        except sqlite3.OperationalError:
            self._seen.append(False)
        finally:
            probe.close()
        return self._model.predict_proba(texts)


class ProbingCache(ModelCache):
    def __init__(self, settings: Settings) -> None:
        super().__init__(artifacts_for(settings), ModelResources())
        self.database = Path(settings.database_url.removeprefix("sqlite:///"))
        self.lock_free: list[bool] = []

    def get(self, model_version_id: int, artifact_uri: str) -> Any:
        model = super().get(model_version_id, artifact_uri)
        return LockProbe(model, self.database, self.lock_free)


@pytest.fixture
def cache(store: Store, settings: Settings, corpus_csv: Path) -> ProbingCache:
    ingest_batch(store, settings, "topics", read_labelled_file(corpus_csv), "corpus")
    train_classifier(store, settings, "topics", "ngram", deploy=True)
    return ProbingCache(settings)


def test_pool_sampling_scores_twenty_thousand_texts_with_the_write_lock_free(
    store: Store, cache: ProbingCache
) -> None:
    with store.session() as session:
        added = add_to_pool(session, "topics", [f"pool text number {i}" for i in range(POOL_SIZE)])
    assert added.added == POOL_SIZE
    tasks = sample_pool(store, cache, "topics", 50, "margin")
    assert len(tasks) == 50
    assert len(cache.lock_free) == POOL_SIZE // 1000  # one scoring call per chunk
    assert all(cache.lock_free)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(ReviewTask)) == 50


def test_feedback_with_a_bare_text_scores_it_with_the_write_lock_free(
    store: Store, cache: ProbingCache
) -> None:
    receipt = record_feedback(store, cache, "topics", text="rain over the stadium", label="sport")
    assert cache.lock_free == [True]
    with store.session() as session:
        task = session.get(ReviewTask, receipt.review_task_id)
        assert task is not None and task.suggested_label is not None
        assert session.get(Feedback, receipt.feedback_id) is not None


def test_cli_classification_scores_with_the_write_lock_free(
    store: Store, cache: ProbingCache
) -> None:
    (result,) = classify(store, cache, "topics", ["the striker scored a goal"])
    assert cache.lock_free == [True]
    with store.session() as session:
        assert session.get(Prediction, result.prediction_id) is not None
