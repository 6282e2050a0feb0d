"""``/v1/classifiers/{name}/pool``: unlabelled texts, and choosing which of them to review."""

from fastapi import APIRouter

from textloop.errors import TooLarge
from textloop.review.pool import add_to_pool, sample_pool
from textloop.serving.answers import public_task
from textloop.serving.deps import ApiKey, RuntimeDep, SessionDep
from textloop.serving.policy import api
from textloop.serving.schemas import (
    PoolAdd,
    PoolPublic,
    PoolSample,
    ReviewTaskList,
)

router = APIRouter(tags=["pool"])


@router.post("/v1/classifiers/{name}/pool", status_code=201, response_model=PoolPublic)
@api("admin", changes_caches=False)
def add_pool_texts(
    name: str, body: PoolAdd, session: SessionDep, runtime: RuntimeDep, _key: ApiKey
) -> PoolPublic:
    """Add unlabelled texts; a text already in the pool is counted, not stored again."""
    limit = runtime.settings.max_upload_rows
    if len(body.texts) > limit:
        raise TooLarge(
            f"{len(body.texts):,} texts; the limit is {limit:,} (max_upload_rows)", field="texts"
        )
    added = add_to_pool(session, name, body.texts)
    return PoolPublic(
        added=added.added,
        duplicates=added.duplicates,
        size=added.size,
        repeated=added.repeated,
        pooled=added.pooled,
        labelled=added.labelled,
    )


@router.post("/v1/classifiers/{name}/pool/samples", status_code=201, response_model=ReviewTaskList)
@api("admin", changes_caches=False, reads_predictions=True)
def sample_pool_texts(
    name: str, body: PoolSample, runtime: RuntimeDep, _key: ApiKey
) -> ReviewTaskList:
    """Turn the most useful pool texts into review tasks, chosen by the named strategy.

    No request-wide session: sampling reads and writes in short transactions of its own, so
    that the model scoring the pool never holds the database (SQLite's write lock). A
    multi-label classifier's tasks show their sets as lists (``public_task``).
    """
    tasks = sample_pool(runtime.store, runtime.models, name, body.n, body.strategy, body.seed)
    with runtime.store.session() as session:
        return ReviewTaskList(tasks=[public_task(session, task) for task in tasks])
