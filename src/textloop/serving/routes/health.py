"""Liveness and readiness without authentication, for load balancers and process supervisors.

``/healthz``: the process answers (restart it when it does not). ``/readyz``: send it traffic
(``serving.readiness``): 200 when ready, 503 with the reason when not.
"""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from textloop.serving.deps import RuntimeDep
from textloop.serving.errors import error_body
from textloop.serving.policy import api

router = APIRouter(tags=["health"])


@router.get("/healthz")
@api()
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "Not ready: the database is unreachable or not migrated"}},
)
@api()
def readyz(runtime: RuntimeDep) -> JSONResponse:
    verdict = runtime.readiness.verdict()
    if verdict.ready:
        return JSONResponse({"status": "ready"})
    return JSONResponse(error_body("not_ready", verdict.reason or "not ready"), status_code=503)
