"""Watching production: drift reports per classifier, and ``/metrics`` for Prometheus."""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from textloop.monitoring.drift import drift_summary
from textloop.monitoring.metrics import render_metrics
from textloop.serving.deps import AdminKey, MetricsKey, SessionDep

router = APIRouter(tags=["monitoring"])


@router.get("/v1/classifiers/{name}/drift")
def drift(
    name: str,
    session: SessionDep,
    _key: AdminKey,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> dict[str, Any]:
    """The window, the thresholds and the newest drift reports, newest first."""
    return drift_summary(session, name, limit)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(session: SessionDep, _key: MetricsKey) -> PlainTextResponse:
    """Prometheus text format; scrape it with a key of the ``metrics`` scope."""
    return PlainTextResponse(
        render_metrics(session), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
