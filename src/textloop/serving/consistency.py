"""Read-your-writes for the server's caches: what a client did through this server, it sees.

Classify requests answer from memory and store later (``online``); a route that lists stored
predictions or their tasks (``reads_predictions`` in its policy: the review task list, exports,
drift) first waits until every prediction answered before it arrived is stored, by the
prediction log's watermark, so that it never waits for the predictions answered after it, and
under load never for the queue to empty. A route that names one prediction (feedback, lineage)
waits for that one itself. Every other request waits for nothing: health, metrics, uploads,
admin calls, and handing out a reviewer's next task, which names no prediction its caller was
answered (a task stored a moment later is handed out a moment later).

Every request but classify is also counted as in flight for ``fairness``, which makes classify
give way to it.

After every request that may change something (not GET, HEAD or OPTIONS) the remembered keys
and deployments are forgotten, so the next classify sees a deploy, rollback, shadow change or
key revocation made through this process at once. Changes made elsewhere (a worker, another
server) are seen within their caches' second. The classify routes are the ``hot_path`` (they
wait for nothing and forget nothing), and the frequent writes that change neither keys nor
deployments (feedback, review claims and decisions, the pool) declare ``changes_caches=False``,
so that mixed traffic does not send every classify back to the database.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from textloop.errors import AuthError
from textloop.serving.context import context_in
from textloop.serving.errors import refusal_response
from textloop.serving.runtime import Runtime

READS = {"GET", "HEAD", "OPTIONS"}


class ReadYourWrites:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or context_in(scope).policy.hot_path:
            await self.app(scope, receive, send)
            return
        runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
        if runtime is None:
            await self.app(scope, receive, send)
            return
        number = runtime.online.give_way.started()  # classify waits for it (``fairness``)
        try:
            await self._answer(runtime, scope, receive, send)
        finally:
            runtime.online.give_way.finished(number)

    async def _answer(self, runtime: Runtime, scope: Scope, receive: Receive, send: Send) -> None:
        context = context_in(scope)
        policy = context.policy
        refused = isinstance(context.authenticated, AuthError)  # told so without a wait
        if policy.reads_predictions and not refused:
            predictions = runtime.predictions
            arrived = predictions.mark()
            stored = predictions.wait_stored(arrived, timeout=0)  # the common case: no hop
            if not stored and not await run_in_threadpool(predictions.wait_stored, arrived):
                refusal = refusal_response(policy.surface, predictions.behind())
                await refusal(scope, receive, send)
                return
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["method"] not in READS and policy.changes_caches:
                runtime.keys.forget()
                runtime.online.deployments.forget()
