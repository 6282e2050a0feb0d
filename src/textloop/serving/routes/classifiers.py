"""Admin routes that drive the loop over HTTP: list classifiers, upload data, train, deploy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import select

from textloop.artifacts import artifacts_for
from textloop.data.readers import ReadOptions, parse_labelled
from textloop.errors import TooLarge, UnsupportedMediaType
from textloop.metadata.model_runs import producing_runs
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.registry.aliases import PRODUCTION
from textloop.release.deploy import deploy_model
from textloop.release.promote import promote
from textloop.serving import idempotency
from textloop.serving.audit_trail import note
from textloop.serving.deps import ApiKey, RuntimeDep, SessionDep
from textloop.serving.policy import Body, api
from textloop.serving.schemas import (
    ClassifierPublic,
    DatasetPublic,
    DeploymentCreate,
    DeploymentPublic,
    ModelPublic,
    PromotionCreate,
    TrainCreate,
)
from textloop.serving.uploads import spooled, upload_folder
from textloop.store.queries import aliased_model, get_classifier
from textloop.store.tables import Classifier, DatasetVersion, ModelVersion

router = APIRouter(tags=["classifiers"])

CONTENT_TYPES = {
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    # a Label Studio or Argilla export, or JSON Lines: told apart by the first record
    "application/json": "json",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}


def _public(session: SessionDep, classifier: Classifier) -> ClassifierPublic:
    production = aliased_model(session, classifier, PRODUCTION)
    return ClassifierPublic(
        name=classifier.name,
        threshold=classifier.threshold,
        labels=classifier.labels,
        production_version=production.version if production else None,
        slice_columns=classifier.slice_columns or [],
    )


@router.get("/v1/classifiers", response_model=list[ClassifierPublic])
@api("admin")
def list_classifiers(session: SessionDep, key: ApiKey) -> list[ClassifierPublic]:
    """The classifiers this key may use (all of them for a key not limited to some)."""
    query = select(Classifier).order_by(Classifier.name)
    if key.classifiers is not None:
        query = query.where(Classifier.name.in_(sorted(key.classifiers)))
    rows = session.scalars(query)
    return [_public(session, row) for row in rows]


@router.get("/v1/classifiers/{name}", response_model=ClassifierPublic)
@api("admin")
def get_classifier_route(name: str, session: SessionDep, _key: ApiKey) -> ClassifierPublic:
    return _public(session, get_classifier(session, name))


@router.post(
    "/v1/classifiers/{name}/datasets",
    status_code=201,
    response_model=DatasetPublic,
    responses={413: {"description": "Over max_upload_bytes or max_upload_rows"}},
)
@api("admin", body=Body.UPLOAD)
async def upload_dataset(
    name: str,
    request: Request,
    runtime: RuntimeDep,
    key: ApiKey,
    text_column: Annotated[str, Query(max_length=200)] = "text",
    label_column: Annotated[str, Query(max_length=200)] = "label",
    split_column: Annotated[str | None, Query(max_length=200)] = None,
    delimiter: Annotated[
        str | None, Query(min_length=1, max_length=1, description="Default: sniffed for CSV")
    ] = None,
    skip_bad_rows: Annotated[
        bool, Query(description="Skip bad rows (wrong number of fields, text or label too long)")
    ] = False,
    idempotency_key: Annotated[
        str | None,
        Header(alias=idempotency.HEADER, description="Resent with the same body: the first answer"),
    ] = None,
) -> Response | DatasetPublic:
    """Upload a labelled file as the body (CSV, TSV, JSONL, Parquet, .xlsx, or a Label Studio or
    Argilla JSON export, by Content-Type).

    The body streams into a temporary file (checked as UTF-8 on the way for the text formats,
    or transcoded into it from the text encoding the Content-Type's ``charset`` names) that is
    then read; blocking work runs off the event loop, like sync routes.
    """
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    file_format = CONTENT_TYPES.get(media_type)
    if file_format is None:
        raise UnsupportedMediaType(
            f"unsupported Content-Type {media_type or '(none)'!r}; "
            f"use one of {', '.join(sorted(CONTENT_TYPES))}",
            field="content-type",
        )
    settings = runtime.settings
    options = ReadOptions(
        delimiter=delimiter,
        skip_bad_rows=skip_bad_rows,
        max_rows=settings.max_upload_rows,
        # what a compressed upload (Parquet, .xlsx) may decode to: twice what a CSV could hold
        max_decoded_bytes=2 * settings.max_upload_bytes,
    )
    claimed = idempotency.checked_key(idempotency_key)
    digest = idempotency.request_digest(request) if claimed else None
    async with spooled(
        request,
        upload_folder(settings.data_dir),
        "upload",
        file_format=file_format,
        decoded_limit=options.max_decoded_bytes,
        digest=digest.update if digest else None,
    ) as path:
        held: idempotency.Claim | None = None
        if claimed and digest:
            earlier = await run_in_threadpool(
                idempotency.claim, runtime.store, key.key_id, claimed, digest.hexdigest()
            )
            if isinstance(earlier, idempotency.Answer):
                return JSONResponse(
                    earlier.body, earlier.status, headers={idempotency.REPLAYED: "true"}
                )
            held = earlier
        try:
            table = await run_in_threadpool(
                parse_labelled,
                path,
                file_format,
                "upload",
                text_column,
                label_column,
                split_column,
                options,
            )
            if table.num_rows > settings.max_upload_rows:
                raise TooLarge(
                    f"upload has {table.num_rows:,} rows; the limit is "
                    f"{settings.max_upload_rows:,} (max_upload_rows)",
                    field="body",
                )
            result = await run_in_threadpool(
                ingest_batch, runtime.store, settings, name, table, f"upload:{media_type}"
            )
        except BaseException:
            if held is not None:
                await run_in_threadpool(idempotency.release, runtime.store, held)
            raise
    answer = DatasetPublic(
        classifier=name,
        version=result.version,
        rows=result.rows,
        dropped=result.dropped,
        duplicates=result.duplicates,
        created=result.created,
        split_counts=result.split_counts,
    )
    if held is not None:
        stored = idempotency.Answer(201, answer.model_dump(mode="json"))
        await run_in_threadpool(idempotency.finish, runtime.store, held, stored)
    return answer


@router.get("/v1/classifiers/{name}/models", response_model=list[ModelPublic])
@api("admin")
def list_models(name: str, session: SessionDep, _key: ApiKey) -> list[ModelPublic]:
    classifier = get_classifier(session, name)
    rows = session.execute(
        select(ModelVersion, DatasetVersion.version)
        .join(DatasetVersion, DatasetVersion.id == ModelVersion.dataset_version_id)
        .where(ModelVersion.classifier_id == classifier.id)
        .order_by(ModelVersion.version)
    ).all()
    runs = producing_runs(session, name, [model.version for model, _ in rows])
    return [
        ModelPublic(
            version=model.version,
            family=model.family,
            dataset_version=dataset_version,
            metrics=model.metrics,
            blessing=model.blessing,
            created_at=model.created_at,
            run=runs.get(model.version),
        )
        for model, dataset_version in rows
    ]


@router.post("/v1/classifiers/{name}/models", status_code=201, response_model=ModelPublic)
@api("admin")
def train_model(name: str, body: TrainCreate, runtime: RuntimeDep, _key: ApiKey) -> ModelPublic:
    """Train a new model version now and answer when it is registered (not yet deployed)."""
    report = train_classifier(
        runtime.store,
        runtime.settings,
        name,
        family=body.model,
        dataset_version=body.dataset_version,
        resources=runtime.resources,
        ignore_anomalies=body.ignore_anomalies,
        use_cache=not body.no_cache,
        from_step=body.from_step,
        tune_trials=runtime.settings.tune_trials if body.tune_trials is None else body.tune_trials,
        tune_seconds=(
            runtime.settings.tune_seconds if body.tune_seconds is None else body.tune_seconds
        ),
        slice_columns=None if body.slice_columns is None else tuple(body.slice_columns),
    )
    with runtime.store.session() as session:
        classifier = get_classifier(session, name)
        model = session.scalar(
            select(ModelVersion).where(
                ModelVersion.classifier_id == classifier.id, ModelVersion.version == report.version
            )
        )
        assert model is not None
        return ModelPublic(
            version=model.version,
            family=model.family,
            dataset_version=report.dataset_version,
            metrics=model.metrics,
            blessing=model.blessing,
            created_at=model.created_at,
            run=report.run,
        )


@router.post("/v1/classifiers/{name}/deployments", status_code=201, response_model=DeploymentPublic)
@api("admin")
def deploy(
    name: str, body: DeploymentCreate, request: Request, runtime: RuntimeDep, _key: ApiKey
) -> DeploymentPublic:
    """Infra-validate the version (once) and point the ``production`` alias at it (blessed
    versions only, unless forced), or ``staging`` to try it first."""
    note(request, requested_version=body.version, force=body.force, alias=body.alias)
    deployment = deploy_model(
        runtime.store,
        artifacts_for(runtime.settings),
        name,
        body.version,
        force=body.force,
        alias=body.alias,
    )
    note(request, version=deployment.version, previous_version=deployment.previous_version)
    return DeploymentPublic(**deployment.__dict__)


@router.post("/v1/classifiers/{name}/promotions", status_code=201, response_model=DeploymentPublic)
@api("admin")
def promote_alias(
    name: str, body: PromotionCreate, request: Request, runtime: RuntimeDep, _key: ApiKey
) -> DeploymentPublic:
    """Deploy the version one stage holds to the next (``{"from": "staging", "to":
    "production"}``), through the same gates as a deploy."""
    note(request, source=body.source, target=body.target, force=body.force)
    moved = promote(
        runtime.store,
        artifacts_for(runtime.settings),
        name,
        body.source,
        body.target,
        force=body.force,
    )
    note(request, version=moved.version, previous_version=moved.previous_version)
    return DeploymentPublic(**moved.__dict__)
