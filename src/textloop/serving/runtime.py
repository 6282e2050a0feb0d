"""Everything a running server holds for its lifetime: settings, the store and loaded models.

Its background threads are ``services.Service``s: started in order when the runtime opens
(``services``), closed in the reverse order, then the store: the refresher first, then the
batcher (no model call is left to answer), the prediction log (it stores what is queued, and
hands the shadow its work) and shadow scoring last.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import select

from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.models.base import ModelResources, Use
from textloop.predict.batched import Batcher
from textloop.predict.model_cache import ModelCache
from textloop.registry.aliases import PRODUCTION
from textloop.security.usage import Refusals
from textloop.serving.deployments import DeploymentCache
from textloop.serving.housekeeping import Housekeeping
from textloop.serving.journal import Journal, recover
from textloop.serving.key_cache import KeyCache
from textloop.serving.online import OnlineClassifier
from textloop.serving.prediction_log import PredictionLog
from textloop.serving.readiness import Readiness
from textloop.serving.refreshing import Refresher
from textloop.serving.rejected import RejectedRows
from textloop.serving.request_latency import RequestLatency
from textloop.serving.services import Service
from textloop.serving.shadow_scoring import ShadowScorer
from textloop.serving.uploads import upload_folder
from textloop.store.database import Store, head_revision, open_store
from textloop.store.tables import Classifier, ModelAlias

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    store: Store
    resources: ModelResources
    models: ModelCache
    shadow: ShadowScorer
    keys: KeyCache
    predictions: PredictionLog
    online: OnlineClassifier
    readiness: Readiness
    refusals: Refusals
    refresher: Refresher
    latency: RequestLatency = field(default_factory=RequestLatency)  # observed by ``surfaces``

    @classmethod
    def open(cls, settings: Settings, trains: bool = False) -> Runtime:
        """``trains``: a worker shares this process, so encoders may be exported here (which
        needs torch); a server alone runs only exports that exist. A server alone encodes on
        one thread per call: its concurrency is in batching, and its other threads (reading
        requests, storing predictions) need the other cores."""
        store = open_store(settings)
        resources = ModelResources.for_settings(settings, Use.TRAINING if trains else Use.SERVING)
        models = ModelCache(artifacts_for(settings), resources)
        shadow = ShadowScorer(store, models)
        journals = settings.data_dir / "journal"
        rejected = RejectedRows(settings.data_dir / "rejected")
        recover(journals, store, rejected)  # what servers killed before they stored it
        predictions = PredictionLog(
            store, Journal(journals), limit=settings.prediction_queue_limit, rejected=rejected
        )
        keys = KeyCache(store)
        deployments = DeploymentCache(  # a moved alias answers once its model has loaded
            store,
            load=lambda deployment: models.get(deployment.version_id, deployment.artifact_uri),
        )
        batcher = Batcher(settings.batch_wait_ms / 1000)
        online = OnlineClassifier(deployments, models, batcher, predictions, shadow)
        readiness = Readiness(store, head_revision(), lag=predictions.lag)
        # readiness first: a key or deployment refresh that hangs on the database makes the
        # server not ready, never late to say so
        housekeeping = Housekeeping(store, upload_folder(settings.data_dir))
        refusals = Refusals()
        refresher = Refresher(
            [
                readiness.check,
                keys.refresh,
                deployments.refresh,
                partial(refusals.flush, store),
                housekeeping.sweep,
            ]
        )
        runtime = cls(
            settings,
            store,
            resources,
            models,
            shadow,
            keys,
            predictions,
            online,
            readiness,
            refusals,
            refresher,
        )
        for service in runtime.services():
            service.start()
        return runtime

    def services(self) -> tuple[Service, ...]:
        """In the order they start; each hands work only to those before it."""
        return (self.shadow, self.predictions, self.online.batcher, self.refresher)

    def load_production_models(self) -> None:
        """Load every production model (up to the cache's capacity) and make one prediction
        with it, so the first request is answered as fast as the thousandth."""
        with self.store.session() as session:
            names = session.scalars(
                select(Classifier.name)
                .join(ModelAlias, ModelAlias.classifier_id == Classifier.id)
                .where(ModelAlias.alias == PRODUCTION)
                .order_by(Classifier.id)
                .limit(self.models.capacity)
            ).all()
        for name in names:
            deployment = self.online.deployments.resolve(name)
            model = self.models.get(deployment.version_id, deployment.artifact_uri)
            model.predict_proba(["warm up"])
        self.readiness.models_loaded()
        self.readiness.check()  # ready from the first request, not from the first refresh

    def metrics(self) -> list[tuple[str, dict[str, str], float]]:
        """This process's serving figures for ``/metrics`` (with ``latency``, a collector):
        plain counts their owners keep, read at the scrape, so that counting costs the hot
        path an addition, not a metrics library's lock."""
        process = {"pid": str(os.getpid())}
        batcher, pool = self.online.batcher, self.resources.encoders
        lag = self.predictions.lag()
        samples = [
            ("textloop_model_calls_total", process, float(batcher.calls)),
            ("textloop_model_call_texts_total", process, float(batcher.texts)),
            ("textloop_predictions_queued", process, float(lag.rows)),
            ("textloop_predictions_queue_limit", process, float(lag.limit)),
            ("textloop_predictions_oldest_seconds", process, lag.oldest_seconds),
            ("textloop_predictions_stored_total", process, float(self.predictions.stored)),
            ("textloop_predictions_rejected_total", process, float(self._rejected())),
            ("textloop_shadow_dropped_total", process, float(self.shadow.dropped)),
        ]
        for (name, alias), (version, _) in self.online.deployments.behind().items():
            labels = {**process, "classifier": name, "alias": alias, "version": str(version)}
            samples.append(("textloop_deployment_not_loaded", labels, 1.0))
        for name, encoder in (pool.loaded() if pool is not None else {}).items():
            labels = {**process, "encoder": name}
            samples.append(("textloop_texts_encoded_total", labels, float(encoder.embedded)))
        return samples

    def _rejected(self) -> int:
        rejected = self.predictions.rejected
        return rejected.count if rejected is not None else 0

    def close(self) -> None:
        for service in reversed(self.services()):
            service.close()
        try:
            self.refusals.flush(self.store)  # the refresher has stopped: the last few
        except Exception:
            log.exception("could not store the count of the last refused requests")
        self.store.dispose()
