"""Classify texts with the model behind a classifier's production (or staging) alias and store
every prediction (the CLI's ``classify``; the server stores through its ``PredictionLog``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert

from textloop.predict.deployment import find_deployment
from textloop.predict.model_cache import ModelCache
from textloop.predict.outcome import scored
from textloop.predict.predictor import DIRECT, Predictor
from textloop.predict.records import PredictionResult, records
from textloop.registry.aliases import PRODUCTION, require_served
from textloop.store.database import Store
from textloop.store.tables import Prediction, ReviewTask


def classify(
    store: Store,
    models: ModelCache,
    name: str,
    texts: Sequence[str],
    predictor: Predictor = DIRECT,
    alias: str = PRODUCTION,
) -> list[PredictionResult]:
    """The model runs between two short transactions, never inside one."""
    with store.session() as session:
        deployment = find_deployment(session, name, require_served(alias))
    model = models.get(deployment.version_id, deployment.artifact_uri)
    answered = predictor.answer(model, texts, deployment.out_of_scope)
    done = records(deployment, texts, scored(model, answered.probabilities, answered.out_of_scope))
    with store.session() as session:
        session.execute(insert(Prediction), done.predictions)
        if done.tasks:
            session.execute(insert(ReviewTask), done.tasks)
    return done.results
