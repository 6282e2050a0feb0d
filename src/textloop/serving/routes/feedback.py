"""``POST /v1/classifiers/{name}/feedback``: a user reports a wrong prediction; a task opens."""

from fastapi import APIRouter

from textloop.review.feedback import record_feedback
from textloop.serving.deps import FeedbackKey, RuntimeDep
from textloop.serving.schemas import FeedbackCreate, FeedbackPublic

router = APIRouter(tags=["feedback"])


@router.post("/v1/classifiers/{name}/feedback", status_code=201, response_model=FeedbackPublic)
def create_feedback(
    name: str, body: FeedbackCreate, runtime: RuntimeDep, key: FeedbackKey
) -> FeedbackPublic:
    """Committed before the answer; a bare text is scored outside any transaction."""
    receipt = record_feedback(
        runtime.store,
        runtime.models,
        name,
        prediction_id=body.prediction_id,
        text=body.text,
        label=body.label,
        api_key_id=key.key_id,
        predictor=runtime.online.batcher,  # shares the model thread with classify requests
    )
    return FeedbackPublic(feedback_id=receipt.feedback_id, review_task_id=receipt.review_task_id)
