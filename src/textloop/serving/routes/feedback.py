"""``POST /v1/classifiers/{name}/feedback``: a user reports a wrong prediction; a task opens.
``POST .../corrections``: a file of such reports."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from textloop.data.label_sets import MAX_SEPARATOR_LENGTH
from textloop.review.corrections import record_corrections
from textloop.review.feedback import record_feedback
from textloop.serving.deps import ApiKey, RuntimeDep
from textloop.serving.policy import Body, api
from textloop.serving.schemas import FeedbackCreate, FeedbackPublic
from textloop.serving.uploads import SUFFIXES, spooled, upload_folder, upload_format

router = APIRouter(tags=["feedback"])


@router.post("/v1/classifiers/{name}/feedback", status_code=201, response_model=FeedbackPublic)
@api("feedback", changes_caches=False)
def create_feedback(
    name: str, body: FeedbackCreate, runtime: RuntimeDep, key: ApiKey
) -> FeedbackPublic:
    """Committed before the answer; a bare text is scored outside any transaction. A prediction
    answered by this server and not stored yet is waited for (and no other). ``label`` for a
    single-label classifier, ``labels`` for a multi-label one: the other is refused (422)."""
    if body.prediction_id is not None and not runtime.predictions.wait_for([body.prediction_id]):
        raise runtime.predictions.behind()
    receipt = record_feedback(
        runtime.store,
        runtime.models,
        name,
        prediction_id=body.prediction_id,
        text=body.text,
        label=body.label,
        labels=body.labels,
        api_key_id=key.key_id,
        predictor=runtime.online.batcher,  # shares the model thread with classify requests
    )
    return FeedbackPublic(feedback_id=receipt.feedback_id, review_task_id=receipt.review_task_id)


@router.post("/v1/classifiers/{name}/corrections", status_code=201)
@api("feedback", body=Body.UPLOAD, reads_predictions=True)
async def upload_corrections(
    name: str,
    request: Request,
    runtime: RuntimeDep,
    key: ApiKey,
    label_separator: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_SEPARATOR_LENGTH,
            description="What joins the labels of a set in a label cell (default '|'); a "
            "multi-label classifier's only",
        ),
    ] = None,
) -> dict[str, Any]:
    """A file of corrections (``label`` with ``text`` or ``prediction_id``) as explicit
    feedback; the same file again records nothing and answers ``"created": false``. A
    multi-label classifier's label cell is a set (``a|b``; empty: no label applies)."""
    file_format = upload_format(request.headers, SUFFIXES)
    folder = upload_folder(runtime.settings.data_dir)
    async with spooled(
        request,
        folder,
        "upload",
        file_format=file_format,
        decoded_limit=2 * runtime.settings.max_upload_bytes,
    ) as path:
        named = path.with_name(f"{path.name}{SUFFIXES[file_format]}")  # read by extension
        path.rename(named)
        try:
            return await run_in_threadpool(
                record_corrections,
                runtime.store,
                runtime.models,
                name,
                named,
                key.key_id,
                runtime.online.batcher,
                "upload",
                label_separator,
            )
        finally:
            named.unlink(missing_ok=True)
