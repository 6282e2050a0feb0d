"""The review queue (``.../review/tasks``) and the export of its decisions (``.../export``)."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from textloop.review.export import FORMATS as EXPORT_FORMATS
from textloop.review.export import decisions_table, export_bytes
from textloop.review.tasks import list_tasks
from textloop.serving.deps import AdminKey, ReviewKey, SessionDep
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


@router.get("/v1/classifiers/{name}/review/export")
def export_decisions(
    name: str,
    session: SessionDep,
    _key: AdminKey,
    file_format: Annotated[str, Query(alias="format", max_length=10)] = "csv",
) -> Response:
    """Every review decision, one row each, as CSV, JSONL or Parquet."""
    data = export_bytes(decisions_table(session, name), file_format)
    return Response(
        data,
        media_type=EXPORT_FORMATS[file_format],
        headers={"Content-Disposition": f'attachment; filename="{name}-review.{file_format}"'},
    )
