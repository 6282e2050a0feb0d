"""Shared request dependencies: the runtime, a database session and the calling API key.

Access checks live here, once: a route declares the scope it needs with ``Scoped("classify")``
and gets a ``Principal`` already checked against the scope and the ``{name}`` classifier, and,
for a key with a usage plan, admitted by the plan (or refused with 429). ``ManagedWebhook`` does
the same for the webhook in a ``{webhook_id}`` path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from textloop.errors import Forbidden
from textloop.notifications.webhooks import get_webhook, webhook_classifier
from textloop.security.accounts import require_assignment
from textloop.security.api_keys import Principal
from textloop.security.usage import admit
from textloop.serving.audit_trail import note
from textloop.serving.runtime import Runtime
from textloop.serving.schemas import RowId
from textloop.store.tables import Webhook


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """A session per request; handlers that write call ``commit()`` before they return.

    It ends with the handler, before the response starts (``scope="function"``): the audit
    trail writes its entry then, and on SQLite an open transaction would hold the write lock.
    """
    with runtime.store.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def presented_key(
    x_api_key: Annotated[str | None, Header(description="API key")] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> str | None:
    if x_api_key:
        return x_api_key
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def Scoped(scope: str | None, metered: bool = True) -> Callable[..., Awaitable[Principal]]:
    """Keys come from ``KeyCache`` (the database at most once a second per key); a reviewer's
    assignment is checked as it stands today, on every request. ``scope=None`` asks only for a
    valid key. A request that passes is counted against the key's plan, if it has one, in one
    database transaction (``security.usage.admit``); the admission stays in ``request.state``
    for the ``X-RateLimit-*`` headers. Keys without a plan skip this: no database round trip."""

    async def check(
        request: Request, key: Annotated[str | None, Depends(presented_key)]
    ) -> Principal:
        runtime = get_runtime(request)
        principal = runtime.keys.cached(key)
        if principal is None:
            principal = await run_in_threadpool(runtime.keys.authenticate, key)
        request.state.principal = principal  # for the audit log, whatever the outcome
        request.state.required_scope = scope
        classifier = request.path_params.get("name")
        if scope is not None:
            principal.require(scope, classifier)
        if principal.user_id is not None and classifier is not None:
            await run_in_threadpool(require_assignments, runtime, principal.user_id, [classifier])
        if metered and principal.plan is not None:
            request.state.usage = await run_in_threadpool(
                admit, runtime.store, principal.key_id, principal.plan
            )
        return principal

    return check


def require_assignments(runtime: Runtime, user_id: int, classifiers: list[str]) -> None:
    with runtime.store.session() as session:
        for classifier in classifiers:
            require_assignment(session, user_id, classifier)


ClassifyKey = Annotated[Principal, Depends(Scoped("classify"))]
FeedbackKey = Annotated[Principal, Depends(Scoped("feedback"))]
ReviewKey = Annotated[Principal, Depends(Scoped("review"))]
MetricsKey = Annotated[Principal, Depends(Scoped("metrics"))]
AdminKey = Annotated[Principal, Depends(Scoped("admin"))]
# Any valid key, not counted against its plan: a key over its quota can still see its usage.
AnyKey = Annotated[Principal, Depends(Scoped(None, metered=False))]


def managed_webhook(
    webhook_id: RowId, request: Request, session: SessionDep, principal: AdminKey
) -> Webhook:
    """The webhook in the path, if this admin key may manage it: a key limited to some
    classifiers manages only their webhooks, not one that gets every classifier's events."""
    note(request, target=f"webhook {webhook_id}")  # refusals too are recorded against it
    hook = get_webhook(session, webhook_id)
    classifier = webhook_classifier(session, hook)
    if classifier is None and principal.classifiers is not None:
        raise Forbidden("this API key is limited to some classifiers; this webhook spans them all")
    principal.require("admin", classifier)
    return hook


ManagedWebhook = Annotated[Webhook, Depends(managed_webhook)]
