"""One audit-log entry for each admin action and review decision over HTTP, written before the
answer leaves, so that whatever a client was told was done is on record.

Recorded: every request that may change something (not GET, HEAD or OPTIONS) to a route whose
policy declares it audited (``policy.Audit``: an admin action, which every write to an ``admin``
scope route is, or a review decision; the portal's admin pages and decisions alike), made by
someone known: the API key that the route's key dependency checked (``deps.api_key``, even when
the key lacked the scope) or the account signed in to the portal, both from the request context.
The status says whether it was done. A request with no valid identity is not recorded, so that
nobody can fill the log. Requests to any other route (classify and feedback among them) skip
this middleware at once. Handlers add what the request alone does not say with ``note``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from textloop.security.accounts import Account
from textloop.security.api_keys import Principal
from textloop.security.audit import account_actor, key_actor, record
from textloop.serving.context import context_in, context_of
from textloop.serving.policy import Audit
from textloop.store.database import Store

READS = {"GET", "HEAD", "OPTIONS"}
TARGETS = ("name", "task_id", "key_id", "job_id")  # the path parameter that names the target


def note(request: Request, target: str | None = None, **details: Any) -> None:
    """What a handler adds to its request's entry: a target the path does not name (a new key)
    and details (the version deployed, the label decided). Never a secret."""
    context = context_of(request)
    if target is not None:
        context.audit_target = target
    context.audit_details.update(details)


@dataclass(frozen=True)
class Pending:
    """An entry waiting to be written: everything taken from the request, nothing from the
    database yet."""

    who: Principal | Account
    action: str
    target: str | None
    status: int
    source: str | None
    details: dict[str, Any]

    def write(self, store: Store) -> None:
        with store.session() as session:
            if isinstance(self.who, Principal):
                actor = key_actor(session, self.who)
            else:
                actor = account_actor(self.who)
            record(session, actor, self.action, self.target, self.status, self.source, self.details)


def pending_entry(scope: Scope, status: int) -> Pending | None:
    """The entry this request leaves, or None if it is not one that is audited."""
    context = context_in(scope)
    who: Principal | Account | None = context.principal or context.account
    if who is None or context.policy.audit is Audit.NEVER:
        return None
    params = scope.get("path_params") or {}
    target = context.audit_target or next(
        (str(params[name]) for name in TARGETS if name in params), None
    )
    client = scope.get("client")
    return Pending(
        who=who,
        action=f"{scope['method']} {context.template}",
        target=target,
        status=status,
        source=client[0] if client else None,
        details=dict(context.audit_details),
    )


class AuditTrail:
    """Plain ASGI, like ``ResponseHeaders``: no task per request, and nothing at all for reads
    and for routes that are never audited."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in READS
            or context_in(scope).policy.audit is Audit.NEVER
        ):
            await self.app(scope, receive, send)
            return
        recorded = False

        async def record_then_send(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                await self._record(scope, message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_then_send)
        except Exception:
            if not recorded:  # an unexpected error: answered with a 500 further out
                recorded = True
                await self._record(scope, 500)
            raise

    async def _record(self, scope: Scope, status: int) -> None:
        pending = pending_entry(scope, status)
        if pending is not None:
            await run_in_threadpool(pending.write, scope["app"].state.runtime.store)
