"""``POST /v1/classifiers/{name}/classify`` and ``POST /v1/classify`` (several classifiers).

Both answer on the event loop through ``OnlineClassifier``: no thread hop and no database round
trip per request; predictions are stored right after the answer (``PredictionLog``). A request
may name the alias that answers it (``?alias=staging``, to try a release before it is promoted);
the prediction records it. The answer is written as JSON directly: it is built from trusted
values, and FastAPI's validation of the declared response model would cost every request more
than the rest of its HTTP handling.

The common request, one classifier's answer for a body that validates and a key with no usage
plan or reviewer to check in the database, skips FastAPI's per-request machinery (dependency
resolution, a thread hop, a second validation) through ``LeanClassify``: a plain ASGI handler
matched just before the documented route, which hands every other request to that route with its
body, so errors and every less common case are answered by one implementation.
"""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.routing import iter_route_contexts
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from textloop.registry.aliases import PRODUCTION, require_served
from textloop.security.api_keys import Principal
from textloop.serving.answers import public_prediction
from textloop.serving.context import context_in
from textloop.serving.deps import ApiKey, RuntimeDep, require_assignments, runtime_in
from textloop.serving.policy import MARK, api, declared
from textloop.serving.runtime import Runtime
from textloop.serving.schemas import (
    STORAGE_BEHIND,
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
    responses=STORAGE_BEHIND,
)
@api("classify", hot_path=True)
async def classify_texts(
    name: str, body: ClassifyCreate, runtime: RuntimeDep, _key: ApiKey, alias: Alias = PRODUCTION
) -> Response:
    return _json(await answer(runtime, name, body, alias))


async def answer(runtime: Runtime, name: str, body: ClassifyCreate, alias: str) -> Any:
    results = await runtime.online.classify(name, _texts(body), require_served(alias))
    public = [public_prediction(result, body.top_k) for result in results]
    return public[0] if body.text is not None else {"predictions": public}


@router.post(
    "/v1/classify",
    response_model=MultiPredictionPublic,
    summary="Classify one text or a batch with several classifiers, encoding each text once",
    responses=STORAGE_BEHIND,
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


JSON_HEADERS = [(b"content-type", b"application/json")]


class LeanClassify:
    """``POST /v1/classifiers/{name}/classify`` for the common request; ``general`` (the
    documented route's own ASGI app) answers every other, under the same policy."""

    def __init__(self, general: ASGIApp, policy: Any) -> None:
        self.general = general
        setattr(self, MARK, policy)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, disconnected = await _read_body(receive)
        principal = context_in(scope).authenticated
        request = None if disconnected or scope.get("query_string") else _valid(body)
        if (
            request is None
            or not isinstance(principal, Principal)
            or principal.user_id is not None
            or principal.plan is not None
        ):
            await self.general(scope, _replay(body, disconnected, receive), send)
            return
        name = scope["path_params"]["name"]
        context_in(scope).principal = principal  # the audit's actor, whatever the outcome
        principal.require("classify", name)
        content = json.dumps(await answer(runtime_in(scope), name, request, PRODUCTION))
        encoded = content.encode()
        headers = [*JSON_HEADERS, (b"content-length", str(len(encoded)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": encoded})


def lean_route(app: Any) -> Route:
    """The lean handler for the documented single-classifier route of ``app``, to be matched
    before it."""
    path = "/v1/classifiers/{name}/classify"
    documented = next(r for r in iter_route_contexts(app.routes) if r.path == path)
    return Route(
        path,
        LeanClassify(documented.app, declared(documented.endpoint)),
        methods=["POST"],
        include_in_schema=False,
    )


def _valid(body: bytes) -> ClassifyCreate | None:
    try:
        return ClassifyCreate.model_validate_json(body)
    except ValidationError:
        return None


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes, disconnected: bool, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` again, then whatever the client sends next."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if disconnected:
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
