"""Which model answers for a classifier, remembered for a second instead of asked per request.

A request needs the classifier's production model (and its shadow, if any); looking them up
costs a database round trip that a busy server would pay thousands of times a second for the
same answer. The runtime's ``Refresher`` re-reads every remembered deployment twice a second, so
a change made elsewhere (a worker, another server) is seen within a second, and one made
through this server by its next request (``consistency``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import select

from textloop.errors import TextloopError
from textloop.monitoring.shadow import SHADOW
from textloop.serving.inference import production_model
from textloop.store.database import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import ModelAlias, ModelVersion

MAX_AGE = 1.0  # seconds an entry is trusted since it was last read


@dataclass(frozen=True)
class Deployment:
    classifier_id: int
    name: str
    threshold: float
    version_id: int
    version: int
    artifact_uri: str
    shadow: tuple[int, str] | None  # (model version id, artifact) of the shadow model


class DeploymentCache:
    def __init__(self, store: Store, max_age: float = MAX_AGE) -> None:
        self.store = store
        self.max_age = max_age
        self._entries: dict[str, tuple[float, Deployment]] = {}
        self._lock = threading.Lock()

    def cached(self, name: str) -> Deployment | None:
        entry = self._entries.get(name)
        if entry is None or time.monotonic() - entry[0] >= self.max_age:
            return None
        return entry[1]

    def resolve(self, name: str) -> Deployment:
        """Look the deployment up (``NotFound`` without a production model) and remember it."""
        with self.store.session() as session:
            classifier = get_classifier(session, name)
            production = production_model(session, classifier)
            shadow = session.execute(
                select(ModelVersion.id, ModelVersion.artifact_uri)
                .join(ModelAlias, ModelAlias.model_version_id == ModelVersion.id)
                .where(ModelAlias.classifier_id == classifier.id, ModelAlias.alias == SHADOW)
            ).first()
            deployment = Deployment(
                classifier_id=classifier.id,
                name=name,
                threshold=classifier.threshold,
                version_id=production.id,
                version=production.version,
                artifact_uri=production.artifact_uri,
                shadow=(shadow[0], shadow[1]) if shadow is not None else None,
            )
        with self._lock:
            self._entries[name] = (time.monotonic(), deployment)
        return deployment

    def refresh(self) -> None:
        """Re-read every remembered deployment; one whose classifier or production model is
        gone is forgotten (its next request looks it up, and gets the error)."""
        for name in list(self._entries):
            try:
                self.resolve(name)
            except TextloopError:
                with self._lock:
                    self._entries.pop(name, None)

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()
