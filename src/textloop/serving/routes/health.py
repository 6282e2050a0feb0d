"""Liveness and readiness without authentication, for load balancers and process supervisors.

``/healthz``: the process answers (restart it when it does not). ``/readyz``: send it traffic
(``serving.readiness``): 200 when ready, 503 with the reason when not; either way with the
prediction queue's lag (``predictions``: queued, limit, oldest_seconds), for an operator. Both
are answered on the event loop: a probe that had to wait for a thread of the pool, busy with
other requests under load, would be late exactly when a load balancer looks.
"""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from textloop.serving.deps import RuntimeDep
from textloop.serving.errors import error_body
from textloop.serving.policy import api
from textloop.serving.prediction_log import Lag

router = APIRouter(tags=["health"])


@router.get("/healthz")
@api()
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "Not ready: the database is unreachable or not migrated"}},
)
@api()
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    verdict = runtime.readiness.verdict()
    lag = {} if verdict.lag is None else {"predictions": _lag(verdict.lag)}
    if verdict.ready:
        return JSONResponse({"status": "ready", **lag})
    body = error_body("not_ready", verdict.reason or "not ready")
    return JSONResponse({**body, **lag}, status_code=503)


def _lag(lag: Lag) -> dict[str, float]:
    return {"queued": lag.rows, "limit": lag.limit, "oldest_seconds": round(lag.oldest_seconds, 3)}
