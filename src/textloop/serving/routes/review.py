"""``GET /v1/classifiers/{name}/review/tasks``: the review queue."""

from typing import Annotated

from fastapi import APIRouter, Query

from textloop.review.tasks import list_tasks
from textloop.serving.deps import ReviewKey, SessionDep
from textloop.serving.schemas import ReviewTaskList, ReviewTaskPublic

router = APIRouter(tags=["review"])


@router.get("/v1/classifiers/{name}/review/tasks", response_model=ReviewTaskList)
def get_review_tasks(
    name: str,
    session: SessionDep,
    _key: ReviewKey,
    status: Annotated[str | None, Query(description="open or done; omit for all")] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ReviewTaskList:
    tasks = list_tasks(session, name, status, limit, offset)
    return ReviewTaskList(tasks=[ReviewTaskPublic.model_validate(task) for task in tasks])
