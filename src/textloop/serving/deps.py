"""Shared request dependencies: the runtime, a database session and the calling API key.

Access checks live here, once: a route declares the scope it needs in its policy
(``@api("classify")``, ``policy``) and takes an ``ApiKey``, a ``Principal`` already checked
against that scope and the ``{name}`` classifier, and, for a key with a usage plan, admitted by
the plan (or refused with 429). The key itself was looked up before the route ran
(``authentication``); this only reads the outcome from the request context. ``ManagedWebhook``
does the same for the webhook in a ``{webhook_id}`` path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from textloop.errors import Forbidden
from textloop.notifications.webhooks import get_webhook, webhook_classifier
from textloop.security.accounts import require_assignment
from textloop.security.api_keys import Principal
from textloop.security.usage import admit
from textloop.serving.audit_trail import note
from textloop.serving.context import context_of
from textloop.serving.runtime import Runtime
from textloop.serving.schemas import RowId
from textloop.store.tables import Webhook


def get_runtime(request: Request) -> Runtime:
    return runtime_in(request.scope)


def runtime_in(scope: Scope) -> Runtime:
    runtime: Runtime = scope["app"].state.runtime
    return runtime


async def runtime_dependency(request: Request) -> Runtime:
    """``get_runtime`` as a dependency. Async, as every cheap dependency here: FastAPI runs a
    plain function dependency on its thread pool, a thread hop per request for a lookup."""
    return get_runtime(request)


RuntimeDep = Annotated[Runtime, Depends(runtime_dependency)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """A session per request, the one transaction of a handler's writes: committed when the
    handler returns, rolled back when it raises (``Store.session``); handlers do not commit.

    It ends with the handler, before the response starts (``scope="function"``): whatever the
    answer says was done is committed, the audit trail writes its entry then, and on SQLite an
    open transaction would hold the write lock.
    """
    with runtime.store.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def key_headers(
    x_api_key: Annotated[str | None, Header(description="API key")] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """The headers a key is presented in, as the API's OpenAPI document lists them for every
    route that needs one; ``authentication.presented_key`` reads them before the route runs."""


async def api_key(request: Request, _headers: Annotated[None, Depends(key_headers)]) -> Principal:
    """The caller's key, checked against the scope the route's policy declares (None: any
    valid key) and the ``{name}`` classifier; a reviewer's assignment is checked as it stands
    today, on every request. A request that passes is counted against the key's plan, if it has
    one, in one database transaction (``security.usage.admit``) unless the policy says it is not
    metered; keys without a plan skip this: no database round trip."""
    context = context_of(request)
    needed = context.policy.key
    if needed is None:
        raise TypeError(f"{context.template} takes an API key but its policy declares none")
    found = context.authenticated
    if not isinstance(found, Principal):
        raise found or TypeError("the key was not looked up (serving.authentication)")
    context.principal = found  # for the audit log, whatever the outcome
    runtime = get_runtime(request)
    classifier = request.path_params.get("name")
    if needed.scope is not None:
        found.require(needed.scope, classifier)
    if found.user_id is not None and classifier is not None:
        await run_in_threadpool(require_assignments, runtime, found.user_id, [classifier])
    if needed.metered and found.plan is not None:
        context.usage = await run_in_threadpool(
            admit, runtime.store, found.key_id, found.plan, refusals=runtime.refusals
        )
    return found


ApiKey = Annotated[Principal, Depends(api_key)]


def require_assignments(runtime: Runtime, user_id: int, classifiers: list[str]) -> None:
    with runtime.store.session() as session:
        for classifier in classifiers:
            require_assignment(session, user_id, classifier)


def managed_webhook(
    webhook_id: RowId, request: Request, session: SessionDep, principal: ApiKey
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
