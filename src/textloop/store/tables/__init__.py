"""The relational schema, one class per table, shared by SQLite and PostgreSQL.

Identifiers that leave the server (predictions, feedback, review tasks) are random UUID strings so
that they cannot be enumerated; internal rows use integer keys. Changing anything here needs a new
Alembic revision in ``store/migrations/versions``.

The tables live in one module per area and are all imported here, so that ``Base.metadata``
(which Alembic compares with the database) holds every one of them whatever a caller imports.
A column with a closed set of values has a ``StrEnum`` beside its table (``JobStatus`` beside
``Job``); the column stays a plain string, and a member equals the string it stores.
"""

from textloop.store.tables.base import Base, as_utc, new_id, utcnow
from textloop.store.tables.catalogue import Classifier, DatasetVersion, DeployMode, Example
from textloop.store.tables.events import DeliveryStatus, SystemEvent, Webhook, WebhookDelivery
from textloop.store.tables.jobs import BatchJob, BatchStatus, Job, JobStatus, WorkerPresence
from textloop.store.tables.lineage import (
    Artifact,
    Context,
    Event,
    Execution,
    ExecutionStatus,
    RunStatus,
)
from textloop.store.tables.predictions import DriftReport, Feedback, Prediction, ShadowPrediction
from textloop.store.tables.registry import ModelAlias, ModelVersion
from textloop.store.tables.review import (
    MODEL_DOUBTS,
    LabelProposal,
    PoolText,
    ProposalStatus,
    ReviewDecision,
    ReviewLease,
    ReviewStatus,
    ReviewTask,
    TaskSource,
)
from textloop.store.tables.security import (
    ApiKey,
    AuditEntry,
    IdempotentRequest,
    KeyUsage,
    PortalSession,
    Role,
    SignInFailure,
    User,
)

__all__ = [
    "MODEL_DOUBTS",
    "ApiKey",
    "Artifact",
    "AuditEntry",
    "Base",
    "BatchJob",
    "BatchStatus",
    "Classifier",
    "Context",
    "DatasetVersion",
    "DeliveryStatus",
    "DeployMode",
    "DriftReport",
    "Event",
    "Example",
    "Execution",
    "ExecutionStatus",
    "Feedback",
    "IdempotentRequest",
    "Job",
    "JobStatus",
    "KeyUsage",
    "LabelProposal",
    "ModelAlias",
    "ModelVersion",
    "PoolText",
    "PortalSession",
    "Prediction",
    "ProposalStatus",
    "ReviewDecision",
    "ReviewLease",
    "ReviewStatus",
    "ReviewTask",
    "Role",
    "RunStatus",
    "ShadowPrediction",
    "SignInFailure",
    "SystemEvent",
    "TaskSource",
    "User",
    "Webhook",
    "WebhookDelivery",
    "WorkerPresence",
    "as_utc",
    "new_id",
    "utcnow",
]
