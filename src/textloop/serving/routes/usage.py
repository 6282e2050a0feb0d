"""``GET /v1/usage``: a key's own requests this month against its plan; an admin's view of any
key (``?key_id=``) or of every key (``/v1/usage/keys``).

Reading usage is not counted against the plan, so a key that hit its quota can still see why.
"""

import time
from typing import Annotated

from fastapi import APIRouter, Query

from textloop.errors import Forbidden
from textloop.security.api_keys import Principal
from textloop.security.usage import period_of, usage_report, usage_reports
from textloop.serving.deps import ApiKey, RuntimeDep, SessionDep
from textloop.serving.policy import Key, api
from textloop.serving.schemas import KeyUsageList, KeyUsagePublic

router = APIRouter(tags=["usage"])


@router.get("/v1/usage", response_model=KeyUsagePublic)
@api(Key(None, metered=False))  # a key over its quota can still see its usage
def usage_of_key(
    session: SessionDep,
    runtime: RuntimeDep,
    key: ApiKey,
    key_id: Annotated[int | None, Query(ge=1, description="Another key's id (admin only).")] = None,
) -> KeyUsagePublic:
    """The calling key's plan and this month's requests, refusals and what is left."""
    if key_id is not None and key_id != key.key_id:
        key.require("admin")
        _every_classifier(key)
    report = usage_report(session, key_id or key.key_id, pending=runtime.refusals)
    return KeyUsagePublic.model_validate(report)


@router.get("/v1/usage/keys", response_model=KeyUsageList)
@api("admin")
def usage_of_every_key(session: SessionDep, runtime: RuntimeDep, key: ApiKey) -> KeyUsageList:
    """Every key not revoked (or used this month), with its plan and this month's counts."""
    _every_classifier(key)
    now = time.time()
    return KeyUsageList(
        period=period_of(now),
        keys=[
            KeyUsagePublic.model_validate(report)
            for report in usage_reports(session, now, pending=runtime.refusals)
        ],
    )


def _every_classifier(key: Principal) -> None:
    """Other keys' usage spans classifiers: not for a key limited to some."""
    if key.classifiers is not None:
        raise Forbidden("other keys' usage spans classifiers; use an unrestricted admin key")
