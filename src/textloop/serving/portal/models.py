"""Admin pages of the training loop: model versions with their quality over time, the shadow and
the newest drift report (deploy a blessed one, roll back); and the recent events, jobs and
webhook deliveries, where a webhook is disabled, enabled or deleted. A classifier in ``manual``
deploy mode is approved here or by CLI."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from textloop.errors import NotFound
from textloop.monitoring.drift import drift_summary
from textloop.monitoring.quality import version_quality
from textloop.monitoring.shadow import shadow_report
from textloop.notifications.destinations import without_credentials
from textloop.notifications.webhooks import delete_webhook, delivery_log, get_webhook, set_active
from textloop.pipeline.evaluation_tables import evaluation_tables
from textloop.registry.aliases import PRODUCTION, STAGING
from textloop.release.deploy import deploy_model
from textloop.release.promote import promote
from textloop.release.rollback import rollback
from textloop.serving.audit_trail import note
from textloop.serving.deps import RuntimeDep, SessionDep
from textloop.serving.policy import Audit, portal
from textloop.serving.portal.charts import line_chart
from textloop.serving.portal.event_filter import EventFilterQuery, newest_events
from textloop.serving.portal.session import Form, PortalAccount, check_csrf
from textloop.serving.portal.templating import templates
from textloop.store.queries import aliased_model
from textloop.store.tables import (
    Classifier,
    Job,
    JobStatus,
    ModelVersion,
    Webhook,
)

router = APIRouter(prefix="/admin", include_in_schema=False)
SHOWN = 50
WEBHOOK_ACTIONS = ("disable", "enable", "delete")


@router.get("/models", response_class=HTMLResponse)
@portal(audit=Audit.ADMIN_ACTION)
def models_page(request: Request, session: SessionDep, account: PortalAccount) -> Response:
    account.require_admin()
    classifiers = []
    for classifier in session.scalars(select(Classifier).order_by(Classifier.name)):
        production = aliased_model(session, classifier, PRODUCTION)
        staging = aliased_model(session, classifier, STAGING)
        versions = session.scalars(
            select(ModelVersion)
            .where(ModelVersion.classifier_id == classifier.id)
            .order_by(ModelVersion.version.desc())
            .limit(SHOWN)
        ).all()
        quality = version_quality(session, classifier.id)
        chart = line_chart(
            f"Quality of {classifier.name} by model version",
            [q.version for q in quality],
            {
                "test accuracy": [q.test_accuracy for q in quality],
                "sent to review": [q.review_share for q in quality],
                "reviewers agree": [q.agreement for q in quality],
            },
        )
        drift = drift_summary(session, classifier.name, limit=1)
        classifiers.append(
            {
                "classifier": classifier,
                "production": production.version if production else None,
                "staging": staging.version if staging else None,
                "versions": versions,
                "evaluations": {v.version: evaluation_tables(v.metrics) for v in versions},
                "quality": {q.version: q for q in quality},
                "chart": chart,
                "drift": drift["reports"][0] if drift["reports"] else None,
                "thresholds": drift["thresholds"],
                "shadow": shadow_report(session, classifier.name),
            }
        )
    return templates.TemplateResponse(
        request, "admin_models.html", {"account": account, "classifiers": classifiers}
    )


@router.post("/models/{name}/{version}/deploy")
@portal(audit=Audit.ADMIN_ACTION)
def deploy_version(
    name: str,
    version: int,
    request: Request,
    runtime: RuntimeDep,
    account: PortalAccount,
    form: Form,
) -> Response:
    """Approve a candidate: blessed and infra-validated versions only, as on the CLI."""
    note(request, requested_version=version)
    account.require_admin()
    check_csrf(account.csrf_token, form)
    moved = deploy_model(runtime.store, runtime.settings, name, version)
    note(request, version=moved.version, previous_version=moved.previous_version)
    return RedirectResponse("/admin/models", status_code=303)


@router.post("/models/{name}/promote")
@portal(audit=Audit.ADMIN_ACTION)
def promote_staging(
    name: str, request: Request, runtime: RuntimeDep, account: PortalAccount, form: Form
) -> Response:
    """Promote what staging holds to production, through the gates of a deploy."""
    account.require_admin()
    check_csrf(account.csrf_token, form)
    moved = promote(runtime.store, runtime.settings, name, STAGING, PRODUCTION)
    note(request, version=moved.version, previous_version=moved.previous_version)
    return RedirectResponse("/admin/models", status_code=303)


@router.post("/models/{name}/rollback")
@portal(audit=Audit.ADMIN_ACTION)
def roll_back(
    name: str, request: Request, runtime: RuntimeDep, account: PortalAccount, form: Form
) -> Response:
    account.require_admin()
    check_csrf(account.csrf_token, form)
    moved = rollback(runtime.store, runtime.settings, name)
    note(request, version=moved.version, previous_version=moved.previous_version)
    return RedirectResponse("/admin/models", status_code=303)


@router.get("/events", response_class=HTMLResponse)
@portal(audit=Audit.ADMIN_ACTION)
def events_page(
    request: Request, session: SessionDep, account: PortalAccount, shown: EventFilterQuery
) -> Response:
    account.require_admin()
    events = newest_events(session, shown, SHOWN)
    names = {row.id: row.name for row in session.execute(select(Classifier.id, Classifier.name))}
    jobs = session.scalars(select(Job).order_by(Job.id.desc()).limit(SHOWN)).all()
    hooks = session.scalars(select(Webhook).order_by(Webhook.id)).all()
    return templates.TemplateResponse(
        request,
        "admin_events.html",
        {
            "account": account,
            "events": events,
            "event_filter": shown,
            "jobs": jobs,
            "names": names,
            "queued": JobStatus.QUEUED,
            "webhooks": [(hook, without_credentials(hook.url)) for hook in hooks],
            "deliveries": delivery_log(session, SHOWN),
        },
    )


@router.post("/webhooks/{webhook_id}/{action}")
@portal(audit=Audit.ADMIN_ACTION)
def change_webhook(
    webhook_id: int,
    action: str,
    request: Request,
    session: SessionDep,
    account: PortalAccount,
    form: Form,
) -> Response:
    """``disable``, ``enable`` or ``delete``, as ``textloop webhooks`` does."""
    account.require_admin()
    check_csrf(account.csrf_token, form)
    if action not in WEBHOOK_ACTIONS:
        raise NotFound(f"no webhook action {action!r}: {', '.join(WEBHOOK_ACTIONS)}")
    hook = get_webhook(session, webhook_id)
    note(request, target=f"webhook {webhook_id}", url=without_credentials(hook.url))
    if action == "delete":
        delete_webhook(session, hook)
    else:
        set_active(session, hook, action == "enable")
    return RedirectResponse("/admin/events", status_code=303)
