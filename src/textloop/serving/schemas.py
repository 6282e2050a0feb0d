"""Request and response bodies of the public API (``XCreate`` in, ``XPublic`` out)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from textloop.data.storable import unstorable
from textloop.store.tables import as_utc

MAX_TEXT_CHARS = 10_000
MAX_BATCH = 256
MAX_CLASSIFIERS = 20
MAX_ROW_ID = 2**63 - 1  # the databases' integer keys are 64-bit; larger ids are simply absent


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only whitespace")
    return value


# A moment in UTC, with its zone: SQLite hands datetimes back without one (they are stored in UTC).
Moment = Annotated[datetime, AfterValidator(as_utc)]
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]  # an integer id in a URL path
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS), AfterValidator(_not_blank)]
Label = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_not_blank)]


class Strict(BaseModel):
    """A request body: no unknown fields, and no string anywhere that cannot be stored."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def storable_strings(cls, data: Any) -> Any:
        _check_strings(data, ())
        return data


def _check_strings(value: Any, path: tuple[str | int, ...]) -> None:
    """Raise ``ValueError`` naming the first string (by its path) that cannot be stored."""
    if isinstance(value, str):
        reason = unstorable(value)
        if reason is not None:
            where = ".".join(str(part) for part in path) or "value"
            raise ValueError(f"{where} {reason}")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, path)
            _check_strings(item, (*path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_strings(item, (*path, index))


class ClassifyCreate(Strict):
    """Either one ``text`` or a batch of up to 256 ``texts``; ``top_k`` trims ``scores``."""

    text: Text | None = None
    texts: Annotated[list[Text], Field(min_length=1, max_length=MAX_BATCH)] | None = None
    # Only the k highest scores, highest first; null (the default): every label's score.
    top_k: Annotated[int, Field(ge=1, le=10_000)] | None = None

    @model_validator(mode="after")
    def exactly_one(self) -> Self:
        if (self.text is None) == (self.texts is None):
            raise ValueError("give exactly one of 'text' or 'texts'")
        return self


class MultiClassifyCreate(ClassifyCreate):
    """The same text(s) for several classifiers at once; each text is encoded once."""

    classifiers: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=200)]],
        Field(min_length=1, max_length=MAX_CLASSIFIERS),
    ]

    @model_validator(mode="after")
    def distinct(self) -> Self:
        if len(set(self.classifiers)) != len(self.classifiers):
            raise ValueError("name each classifier once")
        return self


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable name of the failure, e.g. not_found")
    message: str = Field(description="What is wrong, in words a person can act on")
    field: str | None = Field(default=None, description="The input at fault, when there is one")


class ErrorPublic(BaseModel):
    """The one shape of every failure the API answers (4xx and 5xx)."""

    error: ErrorDetail


ERROR_STATUSES = {
    400: "Malformed request (e.g. a body that is not JSON)",
    401: "Missing, unknown, revoked or expired API key",
    403: "The key lacks the scope or may not use this classifier",
    404: "No such classifier, version, task or route",
    409: "Conflicts with the current state (e.g. deploying an unblessed model)",
    413: "Body, upload or batch larger than the limit",
    415: "Unsupported Content-Type",
    422: "Well-formed but invalid input; `field` names it",
    429: "Over the key's rate limit or monthly quota; see Retry-After",
}
STORAGE_BEHIND: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorPublic,
        "description": "`storage_behind`: the database is behind storing predictions; retry "
        "after Retry-After",
    }
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorPublic, "description": description}
    for status, description in ERROR_STATUSES.items()
}


class PredictionPublic(BaseModel):
    label: str | None = Field(
        default=None,
        description="A single-label classifier's answer; null when ``out_of_scope``.",
    )
    out_of_scope: bool | None = Field(
        default=None,
        description="The text fits none of the labels (the nearest one leads ``scores``); "
        "absent where the classifier's model has no out-of-scope detector or it is turned off.",
    )
    labels: list[str] | None = Field(
        default=None,
        description="A multi-label classifier's answer: every label past its threshold, "
        "possibly none; ``confidence`` is then the probability that the whole set is right.",
    )
    confidence: float
    scores: dict[str, float]
    model_version: int
    prediction_id: str
    review: bool


class BatchPredictionPublic(BaseModel):
    predictions: list[PredictionPublic]


class MultiPredictionPublic(BaseModel):
    """Per classifier name: its prediction (for ``text``) or its predictions (for ``texts``)."""

    predictions: dict[str, PredictionPublic | list[PredictionPublic]]


class FeedbackCreate(Strict):
    """Point at a stored prediction, or give the text; ``label`` is the correct label if known,
    ``labels`` a multi-label classifier's correct set (``[]``: no label applies). Neither: the
    answer is wrong, with no correction."""

    prediction_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    text: Text | None = None
    label: Label | None = None
    labels: list[Label] | None = Field(
        default=None,
        max_length=1000,
        description="A multi-label classifier's: the labels that apply ([]: none does).",
    )

    @model_validator(mode="after")
    def prediction_or_text(self) -> Self:
        if (self.prediction_id is None) == (self.text is None):
            raise ValueError("give exactly one of 'prediction_id' or 'text'")
        if self.label is not None and self.labels is not None:
            raise ValueError("give 'label' or 'labels', not both")
        return self


class FeedbackPublic(BaseModel):
    feedback_id: str
    review_task_id: str


class ReviewTaskPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    source: str
    status: str
    text: str
    suggested_label: str | None
    confidence: float | None
    reported_label: str | None
    prediction_id: str | None
    feedback_id: str | None
    final_label: str | None = None
    created_at: Moment
    # a multi-label classifier's task: the model's set, the user's set (explicit feedback) and
    # the settled set ([]: no label applies), where a single-label one has ``suggested_label``,
    # ``reported_label`` and ``final_label``
    suggested_labels: list[str] | None = None
    final_labels: list[str] | None = None
    reported_labels: list[str] | None = None


class ReviewDecisionIn(Strict):
    """A label; none of these, ``{"none_of_these": true}``; or a skip: ``{"skip": true}``, or
    ``{"label": "skip"}`` when the classifier has no label of that name. A multi-label
    classifier's task takes ``{"labels": [...]}``: the labels that apply (``[]``: none does)."""

    label: str | None = Field(
        default=None, min_length=1, max_length=200, description="One of the classifier's labels."
    )
    labels: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=1000, description="A multi-label classifier's: the set."
    )
    skip: bool = False
    none_of_these: bool = Field(
        default=False, description="The text fits none of the labels: a decision, unlike a skip."
    )

    @model_validator(mode="after")
    def one_decision(self) -> Self:
        given = (self.label is not None) + (self.labels is not None)
        if given + self.skip + self.none_of_these != 1:
            raise ValueError('give one of "label", "labels", "skip": true or "none_of_these": true')
        return self


class ReviewTaskList(BaseModel):
    tasks: list[ReviewTaskPublic]


class ClassifierPublic(BaseModel):
    name: str
    threshold: float
    mode: str = "single-label"  # or "multi-label": fixed when the classifier was created
    labels: list[str]  # a multi-label classifier's: the names its label sets use
    production_version: int | None
    slice_columns: list[str] = []  # the extra columns trainings and retrains report slices by
    out_of_scope: bool = True  # answers may be "out of scope" (``textloop out-of-scope``)


class DatasetPublic(BaseModel):
    classifier: str
    version: int
    rows: int  # distinct rows stored
    dropped: int  # rows without a text or a label
    duplicates: int  # rows that repeated an earlier row of the file exactly (not stored)
    created: bool
    split_counts: dict[str, int]


class TrainCreate(Strict):
    model: Annotated[str, Field(pattern=r"^[a-z0-9_-]+$", max_length=50)] = "auto"
    dataset_version: Annotated[int, Field(ge=1, le=MAX_ROW_ID)] | None = None
    ignore_anomalies: bool = False
    no_cache: bool = False
    from_step: Annotated[str, Field(pattern=r"^[a-z_]+$", max_length=50)] | None = None
    tune_trials: Annotated[int, Field(ge=0, le=1000)] | None = None
    tune_seconds: Annotated[float, Field(ge=0, le=86400)] | None = None
    # null: the classifier's stored slice columns; a list (even []) replaces that setting
    slice_columns: (
        Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=20)] | None
    ) = None


class ModelPublic(BaseModel):
    version: int
    family: str
    dataset_version: int
    metrics: dict[str, Any]
    blessing: dict[str, Any] | None = None
    run: int | None = None  # the training run that registered it (null only for a version
    # registered before runs were recorded)
    created_at: Moment


class DeploymentCreate(Strict):
    version: Annotated[int, Field(ge=1, le=MAX_ROW_ID)] | None = None
    force: bool = False
    alias: Literal["production", "staging"] = "production"


class PromotionCreate(Strict):
    """``{"from": "staging", "to": "production"}``: the version ``from`` holds, deployed to
    ``to`` through the same gates as a deploy."""

    source: Literal["production", "staging"] = Field("staging", alias="from")
    target: Literal["production", "staging"] = Field("production", alias="to")
    force: bool = False


class DeploymentPublic(BaseModel):
    classifier: str
    alias: str
    version: int
    previous_version: int | None


MAX_POOL_BATCH = 10_000


class PoolAdd(Strict):
    texts: Annotated[list[Text], Field(min_length=1, max_length=MAX_POOL_BATCH)]


class PoolPublic(BaseModel):
    added: int
    duplicates: int  # not stored as the text is there already: repeated + pooled
    size: int  # unsampled texts waiting in the pool
    repeated: int = 0  # came earlier in the same request
    pooled: int = 0  # were in the pool before
    labelled: int = 0  # already labelled in a dataset version: never pooled


class PoolSample(Strict):
    n: Annotated[int, Field(ge=1, le=10_000)] = 100
    strategy: Annotated[str, Field(max_length=50)] = "diverse"
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0


class RetrainCreate(Strict):
    model: Annotated[str | None, Field(max_length=50)] = None
    # A backfill over this version.
    dataset_version: Annotated[int | None, Field(ge=1, le=MAX_ROW_ID)] = None


class ShadowChoice(Strict):
    version: Annotated[int | None, Field(ge=1, le=MAX_ROW_ID)]


class BackfillCreate(Strict):
    since: Annotated[str | None, Field(max_length=40)] = None  # a date or ISO date-time, UTC
    until: Annotated[str | None, Field(max_length=40)] = None  # a bare date includes that day
    model: Annotated[str | None, Field(max_length=50)] = None


class JobPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    reason: str
    status: str
    attempts: int
    max_attempts: int
    payload: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    created_at: Moment
    started_at: Moment | None
    finished_at: Moment | None


class EventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type: str
    data: dict[str, Any]
    created_at: Moment


class EventPage(BaseModel):
    events: list[EventPublic]
    next: int  # pass as ``after`` for the following page; equal to ``after`` when caught up


class WebhookCreate(Strict):
    url: Annotated[str, Field(min_length=8, max_length=2000)]
    secret: Annotated[str, Field(min_length=16, max_length=200)]
    classifier: Annotated[str | None, Field(max_length=100)] = None
    events: list[Annotated[str, Field(max_length=50)]] = Field(default_factory=list, max_length=20)


class WebhookPublic(BaseModel):
    id: int
    url: str
    classifier: str | None
    events: list[str]  # empty: every type
    active: bool = True  # False: disabled, its queued deliveries wait


class UsagePlanPublic(BaseModel):
    """``null`` is unlimited; ``burst`` is the rate's bucket size."""

    model_config = ConfigDict(from_attributes=True)

    monthly_quota: int | None
    rate_per_second: float | None
    burst: int | None


class KeyUsagePublic(BaseModel):
    """One key's requests in the current calendar month (UTC)."""

    model_config = ConfigDict(from_attributes=True)

    key_id: int
    prefix: str
    name: str
    plan: UsagePlanPublic | None
    period: str  # "2026-11"
    requests: int  # admitted
    refused: int  # answered 429
    remaining: int | None  # of the monthly quota; null without one
    resets_at: Moment  # when the next month's count starts


class KeyUsageList(BaseModel):
    period: str
    keys: list[KeyUsagePublic]


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: Moment
    actor: str
    api_key_id: int | None
    user_id: int | None
    action: str
    target: str | None
    status: int | None
    source: str | None
    details: dict[str, Any]


class AuditPage(BaseModel):
    entries: list[AuditEntryPublic]
    next: int | None  # pass as ``before_id`` for the following page; null on the last page
