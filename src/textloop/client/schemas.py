"""The shapes of the API's answers, as the client returns them: plain JSON (dicts and lists), typed
with ``TypedDict`` so that an editor and mypy know the fields, at no cost when running.

Each mirrors a response schema of the server's OpenAPI document (``PredictionPublic`` for
``Prediction``, ...), and a test holds the two to the same fields. Times are ISO 8601 strings,
as the API sends them. Answers the server does not declare a schema for (drift, the shadow,
runs, lineage, deliveries) are ``Json``.
"""

from __future__ import annotations

from typing import Any, TypedDict

Json = dict[str, Any]


class Prediction(TypedDict, total=False):
    label: str | None  # a single-label classifier's answer; None when out of scope
    out_of_scope: bool  # the text fits none of the labels (where the classifier says so)
    labels: list[str]  # a multi-label classifier's: every label past its threshold, maybe none
    confidence: float  # for a set of labels: the probability that the whole set is right
    scores: dict[str, float]
    model_version: int
    prediction_id: str
    review: bool  # below the classifier's threshold: a review task was opened


class Feedback(TypedDict):
    feedback_id: str
    review_task_id: str


class Corrections(TypedDict):
    rows: int
    review_tasks: int
    content_hash: str
    created: bool  # False: the same file was recorded before, and nothing was recorded again


class ReviewTask(TypedDict):
    id: str
    source: str
    status: str
    text: str
    suggested_label: str | None
    confidence: float | None
    reported_label: str | None
    prediction_id: str | None
    feedback_id: str | None
    final_label: str | None
    created_at: str
    suggested_labels: list[str] | None  # a multi-label classifier's: the model's set
    final_labels: list[str] | None  # ... and the settled one ([]: no label applies)
    reported_labels: list[str] | None  # ... and the user's (feedback; None: none given)


class Classifier(TypedDict):
    name: str
    threshold: float
    mode: str  # "single-label" or "multi-label"
    labels: list[str]
    production_version: int | None
    slice_columns: list[str]
    out_of_scope: bool  # answers may be "out of scope" (``textloop out-of-scope``)


class Dataset(TypedDict):
    classifier: str
    version: int
    rows: int
    dropped: int
    duplicates: int
    created: bool
    split_counts: dict[str, int]


class ModelVersion(TypedDict):
    version: int
    family: str
    dataset_version: int
    metrics: Json
    blessing: Json | None
    run: int | None
    created_at: str


class Deployment(TypedDict):
    classifier: str
    alias: str
    version: int
    previous_version: int | None


class PoolCounts(TypedDict):
    added: int
    duplicates: int
    size: int
    repeated: int
    pooled: int
    labelled: int


class BatchJob(TypedDict):
    id: str
    classifier: str | None
    status: str  # queued, running, succeeded, failed, cancelled
    model_version_id: int | None
    rows_total: int
    rows_done: int
    rows_failed: int
    chunks_total: int
    chunks_done: int
    rows_per_second: float | None
    review_tasks: int
    format: str
    error: str | None
    cancel_requested: bool
    created_at: str
    started_at: str | None
    finished_at: str | None


class Job(TypedDict):
    id: int
    kind: str
    reason: str
    status: str  # queued, running, succeeded, dead
    attempts: int
    max_attempts: int
    payload: Json
    result: Json | None
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None


class Event(TypedDict):
    id: int
    type: str
    data: Json
    created_at: str


class EventPage(TypedDict):
    events: list[Event]
    next: int  # the cursor for the following page; equal to ``after`` when caught up


class Webhook(TypedDict):
    id: int
    url: str
    classifier: str | None
    events: list[str]
    active: bool


class UsagePlan(TypedDict):
    monthly_quota: int | None
    rate_per_second: float | None
    burst: int | None


class KeyUsage(TypedDict):
    key_id: int
    prefix: str
    name: str
    plan: UsagePlan | None
    period: str
    requests: int
    refused: int
    remaining: int | None
    resets_at: str


class KeyUsageList(TypedDict):
    period: str
    keys: list[KeyUsage]


class AuditEntry(TypedDict):
    id: int
    at: str
    actor: str
    api_key_id: int | None
    user_id: int | None
    action: str
    target: str | None
    status: int | None
    source: str | None
    details: Json


class AuditPage(TypedDict):
    entries: list[AuditEntry]
    next: int | None  # pass as ``before_id`` for older entries; None on the last page


# The server's schema of each, by its name in the OpenAPI document.
SERVER_SCHEMAS: dict[str, type] = {
    "PredictionPublic": Prediction,
    "FeedbackPublic": Feedback,
    "ReviewTaskPublic": ReviewTask,
    "ClassifierPublic": Classifier,
    "DatasetPublic": Dataset,
    "ModelPublic": ModelVersion,
    "DeploymentPublic": Deployment,
    "PoolPublic": PoolCounts,
    "JobPublic": Job,
    "EventPublic": Event,
    "EventPage": EventPage,
    "WebhookPublic": Webhook,
    "UsagePlanPublic": UsagePlan,
    "KeyUsagePublic": KeyUsage,
    "KeyUsageList": KeyUsageList,
    "AuditEntryPublic": AuditEntry,
    "AuditPage": AuditPage,
}
