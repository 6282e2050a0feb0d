"""``GET /v1/lineage/...``: where a prediction came from, and what a dataset version fed."""

from typing import Any

from fastapi import APIRouter

from textloop.metadata.lineage import dataset_lineage, prediction_lineage
from textloop.serving.deps import ApiKey, RuntimeDep, SessionDep
from textloop.serving.policy import api
from textloop.serving.schemas import RowId

router = APIRouter(tags=["lineage"])


@router.get("/v1/lineage/predictions/{prediction_id}")
@api("admin")
def lineage_of_prediction(
    prediction_id: str, runtime: RuntimeDep, session: SessionDep, key: ApiKey
) -> dict[str, Any]:
    """Upstream: model version, training run, dataset versions and the runs that made them. A
    prediction answered by this server and not stored yet is waited for (and no other)."""
    if not runtime.predictions.wait_for([prediction_id]):
        raise runtime.predictions.behind()
    lineage = prediction_lineage(session, prediction_id)
    owner = lineage["prediction"]["classifier"]
    key.require_owned("admin", owner, f"prediction {prediction_id!r} does not exist")
    return lineage


@router.get("/v1/lineage/classifiers/{name}/datasets/{version}")
@api("admin")
def lineage_of_dataset(
    name: str, version: RowId, session: SessionDep, _key: ApiKey
) -> dict[str, Any]:
    """Downstream: every run that consumed the dataset version and everything it produced."""
    return dataset_lineage(session, name, version)
