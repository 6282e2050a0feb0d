"""Liveness without authentication, for load balancers and process supervisors."""

from fastapi import APIRouter

from textloop.serving.policy import api

router = APIRouter(tags=["health"])


@router.get("/healthz")
@api()
def healthz() -> dict[str, str]:
    return {"status": "ok"}
