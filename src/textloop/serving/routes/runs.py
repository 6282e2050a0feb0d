"""``GET /v1/.../runs``: the recorded pipeline runs of a classifier, and one run as its DAG."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from textloop.metadata.runs import list_runs, show_run
from textloop.serving.deps import ApiKey, SessionDep
from textloop.serving.policy import api
from textloop.serving.schemas import RowId

router = APIRouter(tags=["runs"])


@router.get("/v1/classifiers/{name}/runs")
@api("admin")
def runs_of_classifier(
    name: str,
    session: SessionDep,
    _key: ApiKey,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> list[dict[str, Any]]:
    """The newest runs (ingest, train, deploy), newest first, with how many steps were cached."""
    return list_runs(session, name, limit)


@router.get("/v1/classifiers/{name}/runs/{run_id}")
@api("admin")
def run_with_steps(name: str, run_id: RowId, session: SessionDep, _key: ApiKey) -> dict[str, Any]:
    """One run: status and error, then each step with the steps it ran after and its artifacts."""
    return show_run(session, run_id, classifier=name)
