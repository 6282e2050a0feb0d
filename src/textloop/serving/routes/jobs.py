"""The loop over HTTP: queue a retrain, follow its job, roll back, read events by cursor, and
manage the webhooks events are sent to."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from textloop.continuous.backfill import parse_moment, request_backfill
from textloop.continuous.triggers import request_retrain
from textloop.errors import Forbidden, NotFound
from textloop.notifications.destinations import Destinations, without_credentials
from textloop.notifications.events import MAX_PAGE, list_events
from textloop.notifications.webhooks import (
    add_webhook,
    delete_webhook,
    delivery_log,
    set_active,
    webhook_classifier,
)
from textloop.release.rollback import rollback
from textloop.serving.audit_trail import note
from textloop.serving.deps import ApiKey, ManagedWebhook, RuntimeDep, SessionDep
from textloop.serving.policy import api
from textloop.serving.schemas import (
    MAX_ROW_ID,
    BackfillCreate,
    DeploymentPublic,
    EventPage,
    EventPublic,
    JobPublic,
    RetrainCreate,
    RowId,
    WebhookCreate,
    WebhookPublic,
)
from textloop.store.queries import get_classifier
from textloop.store.tables import Classifier, Job, Webhook

router = APIRouter(tags=["continuous training"])


@router.post("/v1/classifiers/{name}/retrain", status_code=202, response_model=JobPublic)
@api("admin")
def retrain(
    name: str, session: SessionDep, _key: ApiKey, body: RetrainCreate | None = None
) -> JobPublic:
    """Queue a retrain (merged with one still waiting); a worker runs it."""
    body = body or RetrainCreate()
    job = request_retrain(
        session, name, "by hand (HTTP)", body.model, body.dataset_version, trigger="manual"
    )
    return JobPublic.model_validate(job)


@router.post("/v1/classifiers/{name}/rollback", status_code=201, response_model=DeploymentPublic)
@api("admin")
def roll_back(name: str, request: Request, runtime: RuntimeDep, _key: ApiKey) -> DeploymentPublic:
    """Point production back at the version it served before the current one."""
    moved = rollback(runtime.store, runtime.settings, name)
    note(request, version=moved.version, previous_version=moved.previous_version)
    return DeploymentPublic(**moved.__dict__)


@router.post("/v1/classifiers/{name}/backfill", status_code=202)
@api("admin")
def backfill(
    name: str, body: BackfillCreate, session: SessionDep, _key: ApiKey
) -> dict[str, list[JobPublic]]:
    """Queue a backfill retrain for each dataset version created in the date range."""
    since = parse_moment(body.since, "since") if body.since else None
    until = parse_moment(body.until, "until", end_of_day=True) if body.until else None
    jobs = request_backfill(session, name, since, until, body.model, "backfill (HTTP)")
    return {"jobs": [JobPublic.model_validate(job) for job in jobs]}


@router.get("/v1/jobs/{job_id}", response_model=JobPublic)
@api("admin")
def show_job(job_id: RowId, session: SessionDep, principal: ApiKey) -> JobPublic:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    classifier = session.get(Classifier, job.classifier_id) if job.classifier_id else None
    owner = classifier.name if classifier else None
    principal.require_owned("admin", owner, f"job {job_id} does not exist")
    return JobPublic.model_validate(job)


@router.post("/v1/webhooks", status_code=201, response_model=WebhookPublic)
@api("admin")
def create_webhook(
    body: WebhookCreate,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: ApiKey,
) -> WebhookPublic:
    """Send events to a URL, signed with the secret (HMAC-SHA256, ``X-Textloop-Signature``).
    The URL must reach public addresses only, or a host named in ``webhook_allowed_hosts``."""
    note(request, url=without_credentials(body.url), classifier=body.classifier)
    if body.classifier is None and principal.classifiers is not None:
        raise Forbidden("this API key is limited to some classifiers; name one")
    principal.require("admin", body.classifier)
    destinations = Destinations(runtime.settings.webhook_allowed_hosts)
    hook = add_webhook(session, body.url, body.secret, body.classifier, body.events, destinations)
    note(request, target=f"webhook {hook.id}")
    return _public(session, hook)


@router.post("/v1/webhooks/{webhook_id}/disable", response_model=WebhookPublic)
@api("admin")
def disable_webhook(hook: ManagedWebhook, request: Request, session: SessionDep) -> WebhookPublic:
    """Send nothing more until enabled again; deliveries already queued wait, in order."""
    return _switched(request, session, hook, active=False)


@router.post("/v1/webhooks/{webhook_id}/enable", response_model=WebhookPublic)
@api("admin")
def enable_webhook(hook: ManagedWebhook, request: Request, session: SessionDep) -> WebhookPublic:
    """Send again, the deliveries queued while disabled first."""
    return _switched(request, session, hook, active=True)


@router.delete("/v1/webhooks/{webhook_id}", status_code=204)
@api("admin")
def remove_webhook(hook: ManagedWebhook, request: Request, session: SessionDep) -> Response:
    """Delete the webhook and its deliveries, sent or not."""
    note(request, url=without_credentials(hook.url))
    delete_webhook(session, hook)
    return Response(status_code=204)


@router.get("/v1/webhooks/deliveries")
@api("admin")
def webhook_deliveries(
    session: SessionDep,
    principal: ApiKey,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> dict[str, list[dict[str, Any]]]:
    """The delivery log, newest first: status, attempts, the receiver's answer."""
    if principal.classifiers is not None:
        raise Forbidden("the delivery log spans classifiers; use an unrestricted admin key")
    return {"deliveries": delivery_log(session, limit)}


@router.get("/v1/events", response_model=EventPage)
@api("admin")
def events(
    session: SessionDep,
    principal: ApiKey,
    after: Annotated[int, Query(ge=0, le=MAX_ROW_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    classifier: Annotated[str | None, Query(max_length=100)] = None,
    type: Annotated[list[str] | None, Query()] = None,
) -> EventPage:
    """Events after the cursor, oldest first. A key limited to some classifiers names one."""
    if classifier is None and principal.classifiers is not None:
        raise Forbidden("this API key is limited to some classifiers; name one with ?classifier=")
    principal.require("admin", classifier)
    classifier_id = get_classifier(session, classifier).id if classifier else None
    page = list_events(session, after, limit, classifier_id, type)
    return EventPage(
        events=[EventPublic.model_validate(event) for event in page],
        next=page[-1].id if page else after,
    )


def _switched(request: Request, session: Session, hook: Webhook, active: bool) -> WebhookPublic:
    note(request, url=without_credentials(hook.url), active=active)
    set_active(session, hook, active)
    return _public(session, hook)


def _public(session: Session, hook: Webhook) -> WebhookPublic:
    return WebhookPublic(
        id=hook.id,
        url=hook.url,
        classifier=webhook_classifier(session, hook),
        events=list(hook.event_types),
        active=hook.active,
    )
