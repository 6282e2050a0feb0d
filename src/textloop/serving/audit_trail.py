"""One audit-log entry for each admin action and review decision over HTTP, written before the
answer leaves, so that whatever a client was told was done is on record.

Recorded: every request that may change something (not GET, HEAD or OPTIONS) to a route that
needs the ``admin`` scope, to a review decision, or to a portal admin page or review decision,
made by someone known: the API key that ``deps.Scoped`` checked (``request.state.principal``,
even when it lacked the scope) or the account signed in to the portal
(``request.state.account``). The status says whether it was done. A request with no valid
identity is not recorded, so that nobody can fill the log. Classify and feedback requests skip
this middleware at once. Handlers add what the request alone does not say with ``note``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from textloop.security.accounts import Account
from textloop.security.api_keys import Principal
from textloop.security.audit import account_actor, key_actor, record
from textloop.store.database import Store

READS = {"GET", "HEAD", "OPTIONS"}
# The hot path, neither admin actions nor decisions (not a portal form of a classifier so named).
NEVER = re.compile(r"/v1/(classify|classifiers/[^/]+/(classify|feedback))")
ADMIN_SCOPE = "admin"
PORTAL_ADMIN = "/admin/"
DECISIONS = {"/v1/review/tasks/{task_id}/decision", "/tasks/{task_id}"}  # API and portal
TARGETS = ("name", "task_id", "key_id", "job_id")  # the path parameter that names the target


def note(request: Request, target: str | None = None, **details: Any) -> None:
    """What a handler adds to its request's entry: a target the path does not name (a new key)
    and details (the version deployed, the label decided). Never a secret."""
    if target is not None:
        request.state.audit_target = target
    request.state.audit_details = {**getattr(request.state, "audit_details", {}), **details}


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
    state = scope.get("state") or {}
    route = scope.get("route")
    template = getattr(route, "path", None) or scope["path"]
    who: Principal | Account | None = state.get("principal")
    if who is not None:
        audited = state.get("required_scope") == ADMIN_SCOPE or template in DECISIONS
    else:
        who = state.get("account")
        audited = who is not None and (template.startswith(PORTAL_ADMIN) or template in DECISIONS)
    if who is None or not audited:
        return None
    params = scope.get("path_params") or {}
    target = state.get("audit_target") or next(
        (str(params[name]) for name in TARGETS if name in params), None
    )
    client = scope.get("client")
    return Pending(
        who=who,
        action=f"{scope['method']} {template}",
        target=target,
        status=status,
        source=client[0] if client else None,
        details=dict(state.get("audit_details") or {}),
    )


class AuditTrail:
    """Plain ASGI, like ``ResponseHeaders``: no task per request, and nothing at all for
    reads, classify and feedback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READS or NEVER.fullmatch(scope["path"]):
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
