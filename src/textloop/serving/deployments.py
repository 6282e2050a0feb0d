"""Which model answers for a classifier, remembered (``refreshing.RefreshingCache``) instead of
asked per request.

A request needs the model behind one of the classifier's served aliases (production, with its
shadow if any, or staging); the runtime's refresher re-reads every remembered deployment twice a
second, in one transaction, so a change made elsewhere (a worker, another server) is seen within
a second, and one made through this server by its next request (``consistency``). An alias that
no longer points at a model is forgotten: its next request looks it up, and gets the error.

A refresh that finds an alias moved loads the new model (``load``) before it answers with it; a
model that cannot be loaded (its artifact store unreachable, its files gone) leaves the alias
served by the model this server has, and is reported (``behind``, the log, ``/metrics``) until
it loads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress

from textloop.errors import TextloopError
from textloop.predict.deployment import Deployment, find_deployment
from textloop.registry.aliases import PRODUCTION
from textloop.serving.refreshing import MAX_AGE, RefreshingCache
from textloop.store.database import Store

Served = tuple[str, str]  # (classifier name, alias)

log = logging.getLogger(__name__)


class DeploymentCache:
    def __init__(
        self,
        store: Store,
        max_age: float = MAX_AGE,
        load: Callable[[Deployment], object] | None = None,
    ) -> None:
        self.store = store
        self.load = load
        self._deployments = RefreshingCache[Served, Deployment](max_age)
        self._behind: dict[Served, tuple[int, str]] = {}  # → (version not loaded, why)
        self._lock = threading.Lock()

    def behind(self) -> dict[Served, tuple[int, str]]:
        """Aliases moved to a version this server could not load: served by the one before."""
        with self._lock:
            return dict(self._behind)

    def cached(self, name: str, alias: str = PRODUCTION) -> Deployment | None:
        return self._deployments.cached((name, alias))

    def resolve(self, name: str, alias: str = PRODUCTION) -> Deployment:
        """Look the deployment up (``NotFound`` when the alias points at no model) and
        remember it."""
        with self.store.session() as session:
            deployment = find_deployment(session, name, alias)
        deployment = self._loaded((name, alias), deployment)  # as a refresh would install it
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
        for served_alias, deployment in list(found.items()):
            found[served_alias] = self._loaded(served_alias, deployment)
        return found

    def _loaded(self, served: Served, deployment: Deployment) -> Deployment:
        """``deployment`` once its model is loaded; the one served before while it cannot be."""
        before = self._deployments.last(served)
        if self.load is None or before is None or before.version_id == deployment.version_id:
            with self._lock:
                self._behind.pop(served, None)  # the alias is back where this server is
            return deployment
        try:
            self.load(deployment)
        except Exception as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            with self._lock:
                first = served not in self._behind
                self._behind[served] = (deployment.version, reason)
            if first:
                log.warning(
                    "%s %s moved to version %s, which this server cannot load (%s); it serves "
                    "version %s until it can",
                    *served,
                    deployment.version,
                    reason,
                    before.version,
                )
            return before
        with self._lock:
            self._behind.pop(served, None)
        return deployment
