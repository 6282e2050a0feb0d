"""``POST /v1/classifiers/{name}/classify`` and ``POST /v1/classify`` (several classifiers).

Both answer on the event loop through ``OnlineClassifier``: no thread hop and no database round
trip per request; predictions are stored right after the answer (``PredictionLog``). A request
may name the alias that answers it (``?alias=staging``, to try a release before it is promoted);
the prediction records it. The answer is written as JSON directly: it is built from trusted
values, and FastAPI's validation of the declared response model would cost every request more
than the rest of its HTTP handling.
"""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from textloop.registry.aliases import PRODUCTION, require_served
from textloop.serving.answers import public_prediction
from textloop.serving.deps import ApiKey, RuntimeDep, require_assignments
from textloop.serving.policy import api
from textloop.serving.schemas import (
    BatchPredictionPublic,
    ClassifyCreate,
    MultiClassifyCreate,
    MultiPredictionPublic,
    PredictionPublic,
)

router = APIRouter(tags=["classify"])
Alias = Annotated[
    str,
    Query(
        max_length=50, description="The alias that answers: production, or staging to try a release"
    ),
]


@router.post(
    "/v1/classifiers/{name}/classify",
    response_model=PredictionPublic | BatchPredictionPublic,
    summary="Classify one text or a batch of texts",
)
@api("classify", hot_path=True)
async def classify_texts(
    name: str, body: ClassifyCreate, runtime: RuntimeDep, _key: ApiKey, alias: Alias = PRODUCTION
) -> Response:
    results = await runtime.online.classify(name, _texts(body), require_served(alias))
    public = [public_prediction(result, body.top_k) for result in results]
    if body.text is not None:
        return _json(public[0])
    return _json({"predictions": public})


@router.post(
    "/v1/classify",
    response_model=MultiPredictionPublic,
    summary="Classify one text or a batch with several classifiers, encoding each text once",
)
@api("classify", hot_path=True)
async def classify_with_several(
    body: MultiClassifyCreate, runtime: RuntimeDep, key: ApiKey, alias: Alias = PRODUCTION
) -> Response:
    for name in body.classifiers:
        key.require("classify", name)
    if key.user_id is not None:  # a person's own key: their assignments as they stand today
        await run_in_threadpool(require_assignments, runtime, key.user_id, body.classifiers)
    answers = await runtime.online.classify_many(
        body.classifiers, _texts(body), require_served(alias)
    )
    predictions: dict[str, Any] = {}
    for name, results in answers.items():
        public = [public_prediction(result, body.top_k) for result in results]
        predictions[name] = public[0] if body.text is not None else public
    return _json({"predictions": predictions})


def _texts(body: ClassifyCreate) -> list[str]:
    return [body.text] if body.text is not None else list(body.texts or [])


def _json(content: Any) -> Response:
    return Response(json.dumps(content), media_type="application/json")
