"""Which model answers for a classifier, remembered (``refreshing.RefreshingCache``) instead of
asked per request.

A request needs the classifier's production model (and its shadow, if any); the runtime's
``Refresher`` re-reads every remembered deployment twice a second, in one transaction, so a
change made elsewhere (a worker, another server) is seen within a second, and one made through
this server by its next request (``consistency``). A classifier whose production model is gone
is forgotten: its next request looks it up, and gets the error.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress

from textloop.errors import TextloopError
from textloop.predict.deployment import Deployment, find_deployment
from textloop.serving.refreshing import MAX_AGE, RefreshingCache
from textloop.store.database import Store


class DeploymentCache:
    def __init__(self, store: Store, max_age: float = MAX_AGE) -> None:
        self.store = store
        self._deployments = RefreshingCache[str, Deployment](max_age)

    def cached(self, name: str) -> Deployment | None:
        return self._deployments.cached(name)

    def resolve(self, name: str) -> Deployment:
        """Look the deployment up (``NotFound`` without a production model) and remember it."""
        with self.store.session() as session:
            deployment = find_deployment(session, name)
        self._deployments.remember(name, deployment)
        return deployment

    def refresh(self) -> None:
        names = self._deployments.remembered()
        if names:
            self._deployments.refresh(self._reread, names)

    def forget(self) -> None:
        self._deployments.forget()

    def _reread(self, names: Sequence[str]) -> dict[str, Deployment]:
        found = {}
        with self.store.session() as session:
            for name in names:
                with suppress(TextloopError):  # gone: forgotten
                    found[name] = find_deployment(session, name)
        return found
