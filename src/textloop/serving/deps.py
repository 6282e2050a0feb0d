"""Shared request dependencies: the runtime, a database session and the calling API key.

Access checks live here, once: a route declares the scope it needs with ``Scoped("classify")``
and gets a ``Principal`` already checked against the scope and the ``{name}`` classifier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from textloop.security.accounts import require_assignment
from textloop.security.api_keys import Principal, authenticate
from textloop.serving.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """A session per request; handlers that write call ``commit()`` before they return."""
    with runtime.store.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def presented_key(
    x_api_key: Annotated[str | None, Header(description="API key")] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> str | None:
    if x_api_key:
        return x_api_key
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def Scoped(scope: str) -> Callable[..., Principal]:
    def check(
        request: Request,
        session: SessionDep,
        key: Annotated[str | None, Depends(presented_key)],
    ) -> Principal:
        principal = authenticate(session, key)  # the request's own session: one connection
        session.rollback()  # end the read, so a handler's other sessions do not wait on it
        classifier = request.path_params.get("name")
        principal.require(scope, classifier)
        if principal.user_id is not None and classifier is not None:
            require_assignment(session, principal.user_id, classifier)  # as assigned today
            session.rollback()
        return principal

    return check


ClassifyKey = Annotated[Principal, Depends(Scoped("classify"))]
FeedbackKey = Annotated[Principal, Depends(Scoped("feedback"))]
ReviewKey = Annotated[Principal, Depends(Scoped("review"))]
MetricsKey = Annotated[Principal, Depends(Scoped("metrics"))]
AdminKey = Annotated[Principal, Depends(Scoped("admin"))]
