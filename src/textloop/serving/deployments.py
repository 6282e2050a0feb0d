"""Which model answers for a classifier, remembered (``refreshing.RefreshingCache``) instead of
asked per request.

A request needs the model behind one of the classifier's served aliases (production, with its
shadow if any, or staging); the runtime's refresher re-reads every remembered deployment twice a
second, in one transaction, so a change made elsewhere (a worker, another server) is seen within
a second, and one made through this server by its next request (``consistency``). An alias that
no longer points at a model is forgotten: its next request looks it up, and gets the error.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress

from textloop.errors import TextloopError
from textloop.predict.deployment import Deployment, find_deployment
from textloop.registry.aliases import PRODUCTION
from textloop.serving.refreshing import MAX_AGE, RefreshingCache
from textloop.store.database import Store

Served = tuple[str, str]  # (classifier name, alias)


class DeploymentCache:
    def __init__(self, store: Store, max_age: float = MAX_AGE) -> None:
        self.store = store
        self._deployments = RefreshingCache[Served, Deployment](max_age)

    def cached(self, name: str, alias: str = PRODUCTION) -> Deployment | None:
        return self._deployments.cached((name, alias))

    def resolve(self, name: str, alias: str = PRODUCTION) -> Deployment:
        """Look the deployment up (``NotFound`` when the alias points at no model) and
        remember it."""
        with self.store.session() as session:
            deployment = find_deployment(session, name, alias)
        self._deployments.remember((name, alias), deployment)
        return deployment

    def refresh(self) -> None:
        served = self._deployments.remembered()
        if served:
            self._deployments.refresh(self._reread, served)

    def forget(self) -> None:
        self._deployments.forget()

    def _reread(self, served: Sequence[Served]) -> dict[Served, Deployment]:
        found = {}
        with self.store.session() as session:
            for name, alias in served:
                with suppress(TextloopError):  # gone: forgotten
                    found[name, alias] = find_deployment(session, name, alias)
        return found
