"""What a route is, declared once beside it: the one place middleware and dependencies learn it.

    @router.post("/v1/classifiers/{name}/datasets", ...)
    @api("admin", body=Body.UPLOAD)
    async def upload_dataset(...)

A ``RoutePolicy`` says which surface answers (the API's JSON errors or the portal's pages), the API
key scope the route needs (``Key``; none for a public route or a portal page, which checks its own
sign-in), the budget its body is read within, whether its writes are audited, whether a write to it
may change what the server remembers (keys, deployments), and whether it reads the predictions this
server answered (it then waits until those answered before it are stored; a route that reads one
prediction by its id waits for that one itself, ``PredictionLog.wait_for``). The decorator only
marks the endpoint; ``surfaces.RouteTable`` reads the mark from the matched route, so that no
middleware classifies a request by its path. Every route the app serves declares one (a route
without is refused when the app is built), except those the framework adds, declared by name in
``app``. A path no route answers gets its application's ``fallback``.

Invariants: a policy is immutable and shared by every request to its route; ``surface`` is the
surface of the application that serves the route (checked when the app is built).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
MARK = "__textloop_policy__"  # the attribute a declared endpoint (or mounted app) carries


class Surface(Enum):
    """Who reads the answers, and so how an error is rendered."""

    API = "api"  # programs: JSON, one error shape
    PORTAL = "portal"  # people: HTML pages, a redirect to sign in


class Body(Enum):
    """The budget a body is read within (``limits``)."""

    JSON = "json"  # max_body_bytes, parsed in memory; a write must be UTF-8 application/json
    UPLOAD = "upload"  # max_upload_bytes, streamed to disk; the route checks its Content-Type
    FORM = "form"  # the portal's MAX_FORM_BYTES


class Audit(Enum):
    """Which writes (not GET, HEAD or OPTIONS) leave an audit-log entry (``audit_trail``)."""

    NEVER = "never"
    ADMIN_ACTION = "admin action"
    DECISION = "review decision"


@dataclass(frozen=True)
class Key:
    """An API key the route needs: with ``scope`` (None: any valid key). A ``metered`` request
    is counted against the key's usage plan, if it has one."""

    scope: str | None
    metered: bool = True


@dataclass(frozen=True)
class RoutePolicy:
    surface: Surface
    key: Key | None = None  # None: no API key (public, or a portal page with its own sign-in)
    body: Body = Body.JSON
    audit: Audit = Audit.NEVER
    changes_caches: bool = True  # a write may change a key or a deployment: caches forgotten
    hot_path: bool = False  # answered from memory (classify): waits for nothing, forgets nothing
    browsers_keep: bool = False  # a portal answer browsers may cache (static files)
    reads_predictions: bool = False  # waits for the predictions answered before it to be stored

    def __call__(self, endpoint: F) -> F:
        """Declare this policy on ``endpoint`` (a route's function, or a mounted app)."""
        setattr(endpoint, MARK, self)
        return endpoint


def api(
    key: str | Key | None = None,
    *,
    body: Body = Body.JSON,
    audit: Audit | None = None,
    changes_caches: bool = True,
    hot_path: bool = False,
    reads_predictions: bool = False,
) -> RoutePolicy:
    """An API route; ``key`` a scope name, a ``Key``, or None for a public route. A write to a
    route of the ``admin`` scope is an audited admin action unless ``audit`` says otherwise."""
    needed = Key(key) if isinstance(key, str) else key
    if audit is None:
        admin = needed is not None and needed.scope == "admin"
        audit = Audit.ADMIN_ACTION if admin else Audit.NEVER
    return RoutePolicy(
        Surface.API,
        needed,
        body,
        audit,
        changes_caches,
        hot_path,
        reads_predictions=reads_predictions,
    )


def portal(
    *, audit: Audit = Audit.NEVER, browsers_keep: bool = False, reads_predictions: bool = False
) -> RoutePolicy:
    """A portal page or form: bodies are forms, answers pages."""
    return RoutePolicy(
        Surface.PORTAL,
        body=Body.FORM,
        audit=audit,
        browsers_keep=browsers_keep,
        reads_predictions=reads_predictions,
    )


def declared(target: object) -> RoutePolicy | None:
    policy = getattr(target, MARK, None)
    return policy if isinstance(policy, RoutePolicy) else None


# What a request no route answers is held to, by the application that received it.
API_FALLBACK = api()
PORTAL_FALLBACK = portal()
