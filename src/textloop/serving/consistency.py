"""Read-your-writes for the server's caches: what a client did through this server, it sees.

Classify requests answer from memory and store later (``online``); so every other request first
waits until the predictions already answered are stored, and after every other request that may
change something (not GET or HEAD) the remembered keys and deployments are forgotten, so the next
classify sees a deploy, rollback, shadow change or key revocation made through this process at
once. Changes made elsewhere (a worker, another server) are seen within their caches' second.
The frequent writes that change neither (feedback, review decisions, the pool) forget nothing,
so that mixed traffic does not send every classify back to the database.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from textloop.serving.runtime import Runtime

READS = {"GET", "HEAD", "OPTIONS"}
KEEPS_CACHES = ("/feedback", "/review/", "/pool")  # writes that change no key or deployment


class ReadYourWrites:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].endswith("/classify"):
            await self.app(scope, receive, send)
            return
        runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
        if runtime is not None and runtime.predictions.pending():
            await run_in_threadpool(runtime.predictions.flush)
        try:
            await self.app(scope, receive, send)
        finally:
            path = scope["path"]
            if (
                runtime is not None
                and scope["method"] not in READS
                and not any(part in path for part in KEEPS_CACHES)
            ):
                runtime.keys.forget()
                runtime.online.deployments.forget()
