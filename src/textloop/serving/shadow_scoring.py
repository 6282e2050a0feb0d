"""Scoring requests with the shadow model off the response path.

Each answered batch is handed here once its predictions are stored (``PredictionLog``); a thread
of its own scores it with the shadow model and stores one ``ShadowPrediction`` per request, so
shadowing adds no latency to the caller. The queue is bounded: when the shadow falls behind,
batches are dropped and counted rather than slowing production down (agreement is a sample, not
a ledger). A multi-label shadow agrees when it answers exactly production's set. The scorer is a
``services.Service``: started by the runtime, or by the first batch.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert

from textloop.predict.model_cache import ModelCache
from textloop.predict.outcome import scored
from textloop.predict.predictor import DIRECT
from textloop.serving.services import ServiceThread
from textloop.store.database import Store
from textloop.store.tables import ShadowPrediction, utcnow

log = logging.getLogger(__name__)
CAPACITY = 1000  # batches waiting to be scored


@dataclass(frozen=True)
class _Batch:
    model_version_id: int
    artifact_uri: str
    prediction_ids: list[str]
    texts: list[str]
    labels: list[str]


class ShadowScorer:
    def __init__(self, store: Store, models: ModelCache, capacity: int = CAPACITY) -> None:
        self.store = store
        self.models = models
        self.dropped = 0
        self._queue: queue.Queue[_Batch | None] = queue.Queue(maxsize=capacity)
        self._thread = ServiceThread("shadow", self._run)

    def start(self) -> None:
        self._thread.start()

    def submit(
        self,
        shadow: tuple[int, str],
        texts: Sequence[str],
        prediction_ids: Sequence[str],
        labels: Sequence[str],
    ) -> None:
        """Queue an answered (committed) batch for scoring; drops it when the queue is full."""
        batch = _Batch(shadow[0], shadow[1], list(prediction_ids), list(texts), list(labels))
        self.start()
        try:
            self._queue.put_nowait(batch)
        except queue.Full:
            self.dropped += len(batch.texts)

    def drain(self) -> None:
        """Wait until every queued batch is scored (tests, and an orderly shutdown)."""
        self._queue.join()

    def close(self) -> None:
        self._thread.stop(lambda: self._queue.put(None), timeout=30)

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            try:
                self._score(batch)
            except Exception:  # a broken shadow must never affect production
                log.exception("shadow scoring failed for model version %s", batch.model_version_id)
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _score(self, batch: _Batch) -> None:
        model = self.models.get(batch.model_version_id, batch.artifact_uri)
        answers = scored(model, DIRECT.predict(model, batch.texts))
        now = utcnow()
        rows = [
            {
                "prediction_id": prediction_id,
                "model_version_id": batch.model_version_id,
                "label": item.label,
                "confidence": item.confidence,
                "agreed": item.label == answered,
                "created_at": now,
            }
            for prediction_id, answered, item in zip(
                batch.prediction_ids, batch.labels, answers, strict=True
            )
        ]
        with self.store.session() as session:
            session.execute(insert(ShadowPrediction), rows)
