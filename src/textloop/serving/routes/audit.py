"""``GET /v1/audit``: the audit log, newest first, filtered, paged by an id cursor.

``AuditQuery`` reads the filters from the query string; the portal's audit page uses it too, so
the API and the page filter alike. A blank field (as an HTML form sends it) filters nothing.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BeforeValidator, Field

from textloop.continuous.backfill import parse_moment
from textloop.errors import Forbidden
from textloop.security.audit import MAX_PAGE, AuditFilter, list_entries
from textloop.serving.deps import ApiKey, SessionDep
from textloop.serving.policy import api
from textloop.serving.schemas import MAX_ROW_ID, AuditEntryPublic, AuditPage

router = APIRouter(tags=["audit"])


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


Blank = BeforeValidator(_blank_is_none)
# Constraints sit inside the optional type: a blank field becomes None before they apply.
Moment = Annotated[str, Field(max_length=40)] | None
Words = Annotated[str, Field(max_length=300)] | None
Number = Annotated[int, Field(ge=1, le=MAX_ROW_ID)] | None


def audit_filter(
    since: Annotated[
        Moment, Blank, Query(description="ISO date or date-time, UTC if naive")
    ] = None,
    until: Annotated[
        Moment, Blank, Query(description="before this (a date: before its end)")
    ] = None,
    key_id: Annotated[Number, Blank, Query(description="only what this API key did")] = None,
    actor: Annotated[Words, Blank, Query(description="a part of the actor's name")] = None,
    action: Annotated[Words, Blank, Query(description='a part of the action ("deploy")')] = None,
    target: Annotated[Words, Blank, Query(description="the classifier, task or key")] = None,
) -> AuditFilter:
    return AuditFilter(
        since=parse_moment(since, "since") if since else None,
        until=parse_moment(until, "until", end_of_day=True) if until else None,
        key_id=key_id,
        actor=actor,
        action=action,
        target=target,
    )


AuditQuery = Annotated[AuditFilter, Depends(audit_filter)]
Cursor = Annotated[Number, Blank, Query()]


@router.get("/v1/audit", response_model=AuditPage)
@api("admin")
def audit_log(
    session: SessionDep,
    principal: ApiKey,
    where: AuditQuery,
    before_id: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> AuditPage:
    """Who did what, when and from where; pass ``next`` as ``before_id`` for older entries."""
    if principal.classifiers is not None:
        raise Forbidden("the audit log spans classifiers; use an unrestricted admin key")
    entries = list_entries(session, where, before_id, limit)
    return AuditPage(
        entries=[AuditEntryPublic.model_validate(entry) for entry in entries],
        next=entries[-1].id if len(entries) == limit else None,
    )
