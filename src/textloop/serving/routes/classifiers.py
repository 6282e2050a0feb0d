"""Admin routes that drive the loop over HTTP: list classifiers, upload data, train, deploy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from textloop.data.label_sets import DEFAULT_SEPARATOR, MAX_SEPARATOR_LENGTH, Mode
from textloop.data.readers import ReadOptions, parse_labelled
from textloop.errors import InvalidRequest, TooLarge
from textloop.metadata.model_runs import producing_runs
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.registry.aliases import PRODUCTION
from textloop.release.deploy import deploy_model
from textloop.release.promote import promote
from textloop.serving import idempotency
from textloop.serving.audit_trail import note
from textloop.serving.content_type import media_type
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
from textloop.serving.uploads import IdempotentUpload, spooled, upload_folder, upload_format
from textloop.store.queries import aliased_model, get_classifier
from textloop.store.tables import Classifier, DatasetVersion, ModelVersion

router = APIRouter(tags=["classifiers"])


def _public(session: SessionDep, classifier: Classifier) -> ClassifierPublic:
    production = aliased_model(session, classifier, PRODUCTION)
    return ClassifierPublic(
        name=classifier.name,
        threshold=classifier.threshold,
        mode=classifier.mode,
        labels=classifier.labels,
        production_version=production.version if production else None,
        slice_columns=classifier.slice_columns or [],
        out_of_scope=classifier.out_of_scope,
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
    multi_label: Annotated[
        bool,
        Query(
            description="The label column holds label sets: names joined by label_separator "
            "(an empty cell: none applies), or a Parquet/JSON list; fixed for a new classifier"
        ),
    ] = False,
    label_separator: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_SEPARATOR_LENGTH,
            description="What joins the labels of a set in a cell (default '|'); with "
            "multi_label only",
        ),
    ] = None,
    new_labels: Annotated[
        bool,
        Query(
            description="Let a multi-label classifier take label names it does not know yet "
            "(refused otherwise, naming the row); a single-label classifier always does"
        ),
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
    file_format = upload_format(request.headers)
    settings = runtime.settings
    if label_separator is not None and not multi_label:
        raise InvalidRequest(
            "label_separator applies to label sets only; add multi_label=true",
            field="label_separator",
        )
    options = ReadOptions(
        delimiter=delimiter,
        skip_bad_rows=skip_bad_rows,
        max_rows=settings.max_upload_rows,
        # what a compressed upload (Parquet, .xlsx) may decode to: twice what a CSV could hold
        max_decoded_bytes=2 * settings.max_upload_bytes,
        multi_label=multi_label,
        label_separator=label_separator or DEFAULT_SEPARATOR,
    )
    once = IdempotentUpload(request, runtime.store, key.key_id, idempotency_key)
    async with (
        once,  # released if the upload fails
        spooled(
            request,
            upload_folder(settings.data_dir),
            "upload",
            file_format=file_format,
            decoded_limit=options.max_decoded_bytes,
            digest=once.feed,
        ) as path,
    ):
        replayed = await once.replay()
        if replayed is not None:
            return replayed
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
            ingest_batch,
            runtime.store,
            settings,
            name,
            table,
            f"upload:{media_type(request.headers)}",
            None,
            Mode.MULTI_LABEL if multi_label else Mode.SINGLE_LABEL,
            new_labels,
        )
    answer = DatasetPublic(
        classifier=name,
        version=result.version,
        rows=result.rows,
        dropped=result.dropped,
        duplicates=result.duplicates,
        created=result.created,
        split_counts=result.split_counts,
    )
    await once.finish(201, answer)
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
        runtime.settings.with_flags(tune_trials=body.tune_trials, tune_seconds=body.tune_seconds),
        name,
        family=body.model,
        dataset_version=body.dataset_version,
        resources=runtime.resources,
        ignore_anomalies=body.ignore_anomalies,
        use_cache=not body.no_cache,
        from_step=body.from_step,
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
        runtime.settings,
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
        runtime.settings,
        name,
        body.source,
        body.target,
        force=body.force,
    )
    note(request, version=moved.version, previous_version=moved.previous_version)
    return DeploymentPublic(**moved.__dict__)
