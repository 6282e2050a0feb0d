"""The review queue over HTTP: list tasks, claim the next one and decide it as a reviewer, and
export the decisions (or the tasks, for Label Studio).

Claiming and deciding need a reviewer's own key (``textloop keys create --user EMAIL``): a
decision belongs to a person, and overlap and agreement count people, not keys.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from textloop.errors import InvalidRequest, NotFound
from textloop.review.assignments import NONE_FITS, SKIP_WORD, SKIPPED, claim_next, decide
from textloop.review.export import export_format, export_review
from textloop.review.label_studio import LabelStudioNames
from textloop.review.tasks import list_tasks
from textloop.security.accounts import require_assignment
from textloop.serving.answers import public_task
from textloop.serving.audit_trail import note
from textloop.serving.deps import ApiKey, SessionDep
from textloop.serving.policy import Audit, api
from textloop.serving.schemas import MAX_ROW_ID, ReviewDecisionIn, ReviewTaskList, ReviewTaskPublic
from textloop.store.stored_labels import Mode, encode
from textloop.store.tables import Classifier, ReviewTask

router = APIRouter(tags=["review"])


@router.get("/v1/classifiers/{name}/review/tasks", response_model=ReviewTaskList)
@api("review", changes_caches=False, reads_predictions=True)
def get_review_tasks(
    name: str,
    session: SessionDep,
    _key: ApiKey,
    status: Annotated[
        str, Query(description="open (the default), done, conflict, or all", max_length=20)
    ] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ROW_ID)] = 0,
) -> ReviewTaskList:
    tasks = list_tasks(session, name, status, limit, offset)
    return ReviewTaskList(tasks=[public_task(session, task) for task in tasks])


@router.post(
    "/v1/classifiers/{name}/review/claim",
    response_model=ReviewTaskPublic,
    responses={204: {"description": "No task is waiting for this reviewer"}},
)
@api("review", changes_caches=False)
def claim_review_task(name: str, session: SessionDep, key: ApiKey) -> Response | ReviewTaskPublic:
    """Lease the reviewer's next task (the one they already hold, if any) for ten minutes."""
    reviewer = key.require_reviewer()
    require_assignment(session, reviewer, name)
    task = claim_next(session, name, reviewer)
    if task is None:
        return Response(status_code=204)
    return public_task(session, task)


@router.post("/v1/review/tasks/{task_id}/decision", response_model=ReviewTaskPublic)
@api("review", audit=Audit.DECISION, changes_caches=False)
def decide_review_task(
    task_id: str, body: ReviewDecisionIn, request: Request, session: SessionDep, key: ApiKey
) -> ReviewTaskPublic:
    """Record the reviewer's label for a task they hold, or that none of the labels fits; a
    skip passes it to someone else.
    ``{"label": "skip"}`` is a skip unless the classifier has a label of that name (the word
    the API has always taken); ``{"skip": true}`` is one always."""
    if body.skip:
        note(request, label=body.label, skip=True)
    elif body.labels is not None:
        note(request, labels=body.labels)
    else:
        note(request, label=body.label)
    reviewer = key.require_reviewer()
    task = session.get(ReviewTask, task_id)
    classifier = session.get(Classifier, task.classifier_id) if task else None
    if task is None or classifier is None:
        raise NotFound(f"review task {task_id!r} does not exist")
    note(request, classifier=classifier.name)
    key.require_owned("review", classifier.name, f"review task {task_id!r} does not exist")
    require_assignment(session, reviewer, classifier.name)
    skipped = body.skip or (body.label == SKIP_WORD and SKIP_WORD not in classifier.labels)
    label = NONE_FITS if body.none_of_these else SKIPPED if skipped else body.label
    if body.labels is not None:
        if classifier.mode != Mode.MULTI_LABEL:
            raise InvalidRequest(
                f'{classifier.name!r} is single-label: give one "label"', field="labels"
            )
        label = encode(body.labels) if body.labels else NONE_FITS  # []: no label applies
    decided = decide(session, task_id, reviewer, label)
    return public_task(session, decided)


@router.get("/v1/classifiers/{name}/review/export")
@api("admin", changes_caches=False, reads_predictions=True)
def export_decisions(
    name: str,
    session: SessionDep,
    _key: ApiKey,
    file_format: Annotated[str, Query(alias="format", max_length=20)] = "csv",
    data_key: Annotated[str, Query(max_length=200, description="label-studio: $text")] = "text",
    from_name: Annotated[
        str, Query(max_length=200, description="label-studio: the Choices control")
    ] = "label",
    to_name: Annotated[
        str, Query(max_length=200, description="label-studio: the Text object")
    ] = "text",
) -> Response:
    """Every review decision, one row each, as CSV, JSONL or Parquet; or every review task in
    Label Studio's import format (``format=label-studio``)."""
    export = export_format(file_format)
    names = LabelStudioNames(data_key=data_key, from_name=from_name, to_name=to_name)
    data = export_review(session, name, file_format, names)
    filename = f"{name}-review.{export.extension}"
    return Response(
        data,
        media_type=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
