"""Watching production: drift reports and the shadow model per classifier, and ``/metrics``."""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from textloop.monitoring.drift import drift_summary
from textloop.monitoring.metrics import render_metrics
from textloop.monitoring.shadow import shadow_report
from textloop.registry.aliases import clear_shadow, set_shadow
from textloop.serving.deps import ApiKey, RuntimeDep, SessionDep
from textloop.serving.policy import api
from textloop.serving.schemas import ShadowChoice

router = APIRouter(tags=["monitoring"])


@router.get("/v1/classifiers/{name}/drift")
@api("admin", reads_predictions=True)
def drift(
    name: str,
    session: SessionDep,
    _key: ApiKey,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> dict[str, Any]:
    """The window, the thresholds and the newest drift reports, newest first."""
    return drift_summary(session, name, limit)


@router.get("/v1/classifiers/{name}/shadow")
@api("admin", reads_predictions=True)
def shadow(name: str, session: SessionDep, _key: ApiKey) -> dict[str, Any]:
    """The shadow version and its agreement with production on live requests."""
    return shadow_report(session, name)


@router.put("/v1/classifiers/{name}/shadow")
@api("admin")
def choose_shadow(
    name: str, body: ShadowChoice, session: SessionDep, _key: ApiKey
) -> dict[str, Any]:
    """``{"version": N}`` shadows production with version N; ``{"version": null}`` stops."""
    if body.version is None:
        clear_shadow(session, name)
    else:
        set_shadow(session, name, body.version)
    return shadow_report(session, name)


@router.get("/metrics", response_class=PlainTextResponse)
@api("metrics")
def metrics(session: SessionDep, runtime: RuntimeDep, key: ApiKey) -> PlainTextResponse:
    """Prometheus text format; scrape it with a key of the ``metrics`` scope. A key limited to
    some classifiers sees only theirs."""
    return PlainTextResponse(
        render_metrics(session, runtime.metrics(), key.classifiers, [runtime.latency]),
        media_type=CONTENT_TYPE_PLAIN_0_0_4,  # the format ``generate_latest`` writes
    )
