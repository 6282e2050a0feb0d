"""The server's classify path, which asks the database nothing and calls no model on its own.

The key (``KeyCache``) and the deployment (``DeploymentCache``) come from memory, the model call
is shared with concurrent requests (``Batcher``) and the predictions are stored by the
``PredictionLog`` after the answer is sent; a request waits on the database only when one of
those must look something up. When the database falls so far behind that the log is full, the
request is refused (503, ``Retry-After``) rather than answered and not stored. Several
classifiers asked about the same texts share one encoding: those on one encoder find the
embeddings in its cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from textloop.predict.batched import Batcher
from textloop.predict.deployment import Deployment
from textloop.predict.model_cache import ModelCache
from textloop.predict.outcome import scored
from textloop.predict.records import PredictionResult, records
from textloop.registry.aliases import PRODUCTION
from textloop.serving.deployments import DeploymentCache
from textloop.serving.fairness import GiveWay
from textloop.serving.prediction_log import Entry, PredictionLog, StorageBehind
from textloop.serving.shadow_scoring import ShadowScorer


class OnlineClassifier:
    def __init__(
        self,
        deployments: DeploymentCache,
        models: ModelCache,
        batcher: Batcher,
        predictions: PredictionLog,
        shadow: ShadowScorer,
        give_way: GiveWay | None = None,
    ) -> None:
        self.give_way = give_way or GiveWay()
        self.deployments = deployments
        self.models = models
        self.batcher = batcher
        self.predictions = predictions
        self.shadow = shadow

    async def classify(
        self, name: str, texts: Sequence[str], alias: str = PRODUCTION
    ) -> list[PredictionResult]:
        answered = await self._answer(await self._deployment(name, alias), texts)
        self._keep([answered])
        return answered.results

    async def classify_many(
        self, names: Sequence[str], texts: Sequence[str], alias: str = PRODUCTION
    ) -> dict[str, list[PredictionResult]]:
        """Every classifier is found before any answers, so a wrong name stores nothing; the
        answers are kept all together or, when the queue is full, none of them."""
        deployments = [await self._deployment(name, alias) for name in names]
        answered = await asyncio.gather(*(self._answer(d, texts) for d in deployments))
        self._keep(answered)
        return {name: each.results for name, each in zip(names, answered, strict=True)}

    async def _deployment(self, name: str, alias: str) -> Deployment:
        deployment = self.deployments.cached(name, alias)
        if deployment is None:
            deployment = await run_in_threadpool(self.deployments.resolve, name, alias)
        return deployment

    async def _answer(self, deployment: Deployment, texts: Sequence[str]) -> Answered:
        await self.give_way.turn()
        model = self.models.peek(deployment.version_id)
        if model is None:
            model = await run_in_threadpool(
                self.models.get, deployment.version_id, deployment.artifact_uri
            )
        answered = await self.batcher.answer_async(model, texts, deployment.out_of_scope)
        done = records(
            deployment, texts, scored(model, answered.probabilities, answered.out_of_scope)
        )
        entry = Entry(done.predictions, done.tasks)
        if deployment.shadow is not None:
            shadow, ids = deployment.shadow, [r.prediction_id for r in done.results]
            labels = [r.label for r in done.results]
            entry.after = lambda: self.shadow.submit(shadow, texts, ids, labels)
        return Answered(done.results, entry)

    def _keep(self, answered: Sequence[Answered]) -> None:
        if not self.predictions.offer_all([each.entry for each in answered]):
            raise StorageBehind(
                f"{self.predictions.queued()} predictions are waiting to be stored, the most "
                "this server holds (prediction_queue_limit): the database is behind"
            )


@dataclass(frozen=True)
class Answered:
    """One classifier's answers to a request, and the entry that stores them."""

    results: list[PredictionResult]
    entry: Entry
