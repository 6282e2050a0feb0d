"""The relational schema, one class per table, shared by SQLite and PostgreSQL.

Identifiers that leave the server (predictions, feedback, review tasks) are random UUID strings so
that they cannot be enumerated; internal rows use integer keys. Changing anything here needs a new
Alembic revision in ``store/migrations/versions``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without a time zone; they were stored in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[str]: JSON,
        datetime: DateTime(timezone=True),
    }


class Classifier(Base):
    __tablename__ = "classifiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    threshold: Mapped[float] = mapped_column(Float, default=0.5)
    labels: Mapped[list[str]] = mapped_column(default=list)
    data_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    review_overlap: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Continuous training: retrain after this many new reviewed labels (0: never by count), and
    # whether a blessed candidate deploys by itself ("auto") or waits for an admin ("manual").
    retrain_after: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    deploy_mode: Mapped[str] = mapped_column(String(10), default="auto", server_default="auto")
    retrain_schedule: Mapped[str | None] = mapped_column(String(100), default=None)  # cron, UTC
    schedule_checked_at: Mapped[datetime | None] = mapped_column(default=None)
    retrain_model: Mapped[str | None] = mapped_column(String(50), default=None)  # None: auto
    drift_window: Mapped[int] = mapped_column(Integer, default=500, server_default="500")
    drift_thresholds: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Extra columns every training reports test metrics by, unless one names its own (0015).
    slice_columns: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetVersion(Base):
    """An immutable snapshot of labelled examples, addressed by the hash of its content."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("classifier_id", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int] = mapped_column(ForeignKey("classifiers.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    row_count: Mapped[int] = mapped_column(Integer)
    split_counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    statistics: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    anomalies: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Example(Base):
    """One cleaned row; ``extras`` holds the file's other columns (name -> text or null)."""

    __tablename__ = "examples"
    __table_args__ = (Index("ix_examples_dataset_split", "dataset_version_id", "split"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_version_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="CASCADE")
    )
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(200))
    text_hash: Mapped[str] = mapped_column(String(64))
    split: Mapped[str] = mapped_column(String(16))
    extras: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("classifier_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int] = mapped_column(ForeignKey("classifiers.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    family: Mapped[str] = mapped_column(String(50))
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"))
    artifact_uri: Mapped[str] = mapped_column(Text)
    labels: Mapped[list[str]] = mapped_column(default=list)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    blessing: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    infra_validation: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelAlias(Base):
    """A movable name (``production``, later ``staging``) pointing at one model version."""

    __tablename__ = "model_aliases"

    classifier_id: Mapped[int] = mapped_column(
        ForeignKey("classifiers.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(50), primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Prediction(Base):
    __tablename__ = "predictions"
    __table_args__ = (Index("ix_predictions_classifier_created", "classifier_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    classifier_id: Mapped[int] = mapped_column(ForeignKey("classifiers.id", ondelete="CASCADE"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(200))
    confidence: Mapped[float] = mapped_column(Float)
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    classifier_id: Mapped[int] = mapped_column(ForeignKey("classifiers.id", ondelete="CASCADE"))
    prediction_id: Mapped[str | None] = mapped_column(ForeignKey("predictions.id"))
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(String(200))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewTask(Base):
    __tablename__ = "review_tasks"
    __table_args__ = (Index("ix_review_tasks_queue", "classifier_id", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    classifier_id: Mapped[int] = mapped_column(ForeignKey("classifiers.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open")
    text: Mapped[str] = mapped_column(Text)
    suggested_label: Mapped[str | None] = mapped_column(String(200))
    confidence: Mapped[float | None] = mapped_column(Float)
    reported_label: Mapped[str | None] = mapped_column(String(200))
    prediction_id: Mapped[str | None] = mapped_column(ForeignKey("predictions.id"))
    feedback_id: Mapped[str | None] = mapped_column(ForeignKey("feedback.id"))
    final_label: Mapped[str | None] = mapped_column(String(200))  # what reviewers agreed on
    scores: Mapped[dict[str, float] | None] = mapped_column(JSON, default=None)  # model's top 5
    # The dataset version the agreed label was merged into for training; None until then.
    merged_into: Mapped[int | None] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PoolText(Base):
    """An unlabelled text waiting to be chosen for review; each text once per classifier."""

    __tablename__ = "pool_texts"
    __table_args__ = (UniqueConstraint("classifier_id", "text_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int] = mapped_column(ForeignKey("classifiers.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    sampled_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """A person who signs in to the portal: an ``admin``, or a ``reviewer`` of some classifiers."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    classifiers: Mapped[list[str] | None] = mapped_column(JSON, default=None)  # None: all
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PortalSession(Base):
    __tablename__ = "portal_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class SignInFailure(Base):
    """A failed (or still running) portal sign-in, counted against ``subject``: the SHA-256 of
    the email tried or of the address it came from (``security.throttle``; 0016). Hashed, so
    that a password typed into the email field is not kept readable."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_subject", "subject", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewLease(Base):
    """One of a task's ``review_overlap`` slots, held by a reviewer until it expires."""

    __tablename__ = "review_leases"

    task_id: Mapped[str] = mapped_column(
        ForeignKey("review_tasks.id", ondelete="CASCADE"), primary_key=True
    )
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column()


class ReviewDecision(Base):
    """A reviewer's label for a task, or an empty label for a skip; one per reviewer and task."""

    __tablename__ = "review_decisions"
    __table_args__ = (UniqueConstraint("task_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("review_tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """Only the SHA-256 of a key is stored; the key itself is shown once at creation."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(default=list)
    classifiers: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    user_id: Mapped[int | None] = mapped_column(  # a reviewer's own key: decides as that person
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)  # to the second or so
    # The usage plan; None is unlimited. Requests per calendar month (UTC), and a token bucket:
    # ``rate_per_second`` refills it, ``burst`` is its size.
    monthly_quota: Mapped[int | None] = mapped_column(Integer, default=None)
    rate_per_second: Mapped[float | None] = mapped_column(Float, default=None)
    burst: Mapped[int | None] = mapped_column(Integer, default=None)


class KeyUsage(Base):
    """One key's requests in one calendar month, and its rate bucket: the row every server
    process locks to admit a request of a key with a plan, so counts are exact across them."""

    __tablename__ = "key_usage"

    api_key_id: Mapped[int] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11"
    requests: Mapped[int] = mapped_column(Integer, default=0)  # admitted
    refused: Mapped[int] = mapped_column(Integer, default=0)  # answered 429
    tokens: Mapped[float] = mapped_column(Float, default=0.0)
    tokens_at: Mapped[float] = mapped_column(Float, default=0.0)  # Unix time of ``tokens``
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who did what, when and from where: every admin action and every review decision.

    No foreign keys: the log outlives the keys, accounts and classifiers it names.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(300))  # "key 3 tl_AbCdEfG (ci)", "user a@b.c"
    api_key_id: Mapped[int | None] = mapped_column(Integer, default=None)
    user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    action: Mapped[str] = mapped_column(String(200))  # "POST /v1/classifiers/{name}/deployments"
    target: Mapped[str | None] = mapped_column(String(300), default=None)
    status: Mapped[int | None] = mapped_column(Integer, default=None)
    source: Mapped[str | None] = mapped_column(String(300), default=None)  # address, or cli host
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class IdempotentRequest(Base):
    """The answer to a request sent with an ``Idempotency-Key``, replayed when it is resent."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))  # method, path, query and body
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Artifact(Base):
    """Anything a step produced: a dataset version, a model version, a deployment, ..."""

    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int | None] = mapped_column(
        ForeignKey("classifiers.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(50))
    uri: Mapped[str] = mapped_column(String(500), unique=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Context(Base):
    """A group of executions: one pipeline run (``train``, ``ingest``, ``deploy``).

    The other context of an execution, its classifier, is the ``classifier_id`` both carry.
    """

    __tablename__ = "contexts"

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int | None] = mapped_column(
        ForeignKey("classifiers.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(30), default="pipeline_run")
    name: Mapped[str] = mapped_column(String(50))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="running")
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


class Execution(Base):
    """One run of one component (a pipeline step, ingest, deploy), successful or not."""

    __tablename__ = "executions"

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int | None] = mapped_column(
        ForeignKey("classifiers.id", ondelete="CASCADE")
    )
    component: Mapped[str] = mapped_column(String(50))
    textloop_version: Mapped[str] = mapped_column(String(50))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    cache_key: Mapped[str | None] = mapped_column(String(64), index=True)
    context_id: Mapped[int | None] = mapped_column(
        ForeignKey("contexts.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


class Event(Base):
    """An execution consumed (``input``) or produced (``output``) an artifact."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_artifact", "artifact_id", "kind"),)

    execution_id: Mapped[int] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    artifact_id: Mapped[int] = mapped_column(
        ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)


class Job(Base):
    """Background work (a retrain): queued, running, succeeded or dead; kept as history."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_due", "status", "run_after"),
        # one running job per classifier and kind, even when two workers claim at once
        Index(
            "ux_jobs_one_running",
            "classifier_id",
            "kind",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    classifier_id: Mapped[int | None] = mapped_column(
        ForeignKey("classifiers.id", ondelete="CASCADE")
    )
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str] = mapped_column(String(200), default="by hand")
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    worker: Mapped[str | None] = mapped_column(String(100), default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkerPresence(Base):
    """A running worker, seen every few seconds even when idle (``jobs.presence``; 0015)."""

    __tablename__ = "worker_presence"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class SystemEvent(Base):
    """Something people may want to hear of (``run.succeeded``, ``model.deployed``); the id is
    the cursor that ``GET /v1/events`` pages by."""

    __tablename__ = "system_events"
    __table_args__ = (Index("ix_system_events_classifier", "classifier_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int | None] = mapped_column(
        ForeignKey("classifiers.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(50))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Webhook(Base):
    """Where to POST events: a URL, the secret that signs the body, and which event types."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int | None] = mapped_column(
        ForeignKey("classifiers.id", ondelete="CASCADE")
    )  # None: every classifier's events
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    event_types: Mapped[list[str]] = mapped_column(default=list)  # empty: every type
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event for one webhook: pending until the receiver answers 2xx, or dead."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("system_events.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DriftReport(Base):
    """One comparison of a window of recent predictions with the production model's held-out
    rows: each measure, the ones over their threshold, and whether that means drift."""

    __tablename__ = "drift_reports"
    __table_args__ = (Index("ix_drift_reports_classifier", "classifier_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    classifier_id: Mapped[int] = mapped_column(ForeignKey("classifiers.id", ondelete="CASCADE"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    window_size: Mapped[int] = mapped_column(Integer)
    window_end: Mapped[datetime] = mapped_column()  # when the newest prediction in it was made
    measures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    breached: Mapped[list[str]] = mapped_column(default=list)
    drifted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShadowPrediction(Base):
    """A shadow model's answer to a request production answered: kept to measure agreement
    before the shadow is promoted; never returned to the caller."""

    __tablename__ = "shadow_predictions"
    __table_args__ = (Index("ix_shadow_predictions_model", "model_version_id", "created_at"),)

    prediction_id: Mapped[str] = mapped_column(
        ForeignKey("predictions.id", ondelete="CASCADE"), primary_key=True
    )
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    confidence: Mapped[float] = mapped_column(Float)
    agreed: Mapped[bool] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BatchJob(Base):
    """A batch classification run by a worker: its input, pinned model version, progress and
    output. The queue ``Job`` that runs it is retried like any job; the chunks already written
    survive a dead worker, so its successor carries on from them."""

    __tablename__ = "batch_jobs"
    __table_args__ = (Index("ix_batch_jobs_classifier", "classifier_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    classifier_id: Mapped[int] = mapped_column(ForeignKey("classifiers.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), default=None)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    api_key_id: Mapped[int | None] = mapped_column(Integer, default=None)  # who submitted it
    status: Mapped[str] = mapped_column(String(16), default="queued")
    input_path: Mapped[str] = mapped_column(Text)
    input_hash: Mapped[str] = mapped_column(String(64))
    output_path: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(16))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_failed: Mapped[int] = mapped_column(Integer, default=0)  # rows without a prediction
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    review_tasks: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)  # spent scoring, over all attempts
