"""Read-your-writes for the server's caches: what a client did through this server, it sees.

Classify requests answer from memory and store later (``online``); so every other request first
waits until the predictions already answered are stored, and after every other request that may
change something (not GET, HEAD or OPTIONS) the remembered keys and deployments are forgotten, so
the next classify sees a deploy, rollback, shadow change or key revocation made through this
process at once. Changes made elsewhere (a worker, another server) are seen within their caches'
second. Each route says which it is in its policy (``policy.RoutePolicy``): the classify routes
are the ``hot_path`` (they wait for nothing and forget nothing), and the frequent writes that
change neither keys nor deployments (feedback, review claims and decisions, the pool) declare
``changes_caches=False``, so that mixed traffic does not send every classify back to the
database.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from textloop.serving.context import context_in
from textloop.serving.runtime import Runtime

READS = {"GET", "HEAD", "OPTIONS"}


class ReadYourWrites:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or context_in(scope).policy.hot_path:
            await self.app(scope, receive, send)
            return
        policy = context_in(scope).policy
        runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
        if runtime is not None and runtime.predictions.pending():
            await run_in_threadpool(runtime.predictions.flush)
        try:
            await self.app(scope, receive, send)
        finally:
            if runtime is not None and scope["method"] not in READS and policy.changes_caches:
                runtime.keys.forget()
                runtime.online.deployments.forget()
