"""What queues a retrain: a person (CLI, HTTP), enough new reviewed labels, a backfill, or a
schedule (``continuous.schedule``, fired by the workers through ``fire_due_schedules``).

Every trigger goes through ``request_retrain``: a retrain still waiting for the same classifier
absorbs the same request and any automatic one, so a trigger that fires while a run is in
progress queues one follow-up; an explicit request with other parameters queues its own job.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from textloop.continuous.schedule import parse_schedule
from textloop.errors import InvalidRequest
from textloop.jobs.queue import enqueue
from textloop.review.tasks import unmerged_reviewed
from textloop.signals import REVIEW_DECIDED
from textloop.store.queries import get_classifier
from textloop.store.tables import Classifier, DeployMode, Job, JobStatus, as_utc, utcnow

RETRAIN = "retrain"
LABELS = "labels"  # the trigger of a job queued because enough labels were reviewed
AUTOMATIC = (LABELS, "schedule")
DEPLOY_MODES = tuple(DeployMode)


def request_retrain(
    session: Session,
    name: str,
    reason: str = "by hand",
    model: str | None = None,
    dataset_version: int | None = None,
    trigger: str = "manual",
) -> Job:
    classifier = get_classifier(session, name)
    payload: dict[str, Any] = {"trigger": trigger}
    if model:
        payload["model"] = model
    if dataset_version is not None:  # a backfill over a chosen version: no merge, refit
        payload.update(dataset_version=dataset_version, backfill=True)
    waiting = session.scalars(
        select(Job)
        .where(
            Job.kind == RETRAIN, Job.classifier_id == classifier.id, Job.status == JobStatus.QUEUED
        )
        .order_by(Job.id)
    ).all()
    # A waiting retrain absorbs the same request, and an automatic trigger unless it waits to
    # backfill (which merges nothing); an explicit different request queues after them.
    same = next((job for job in waiting if job.payload == payload), None)
    if same is not None:
        return same
    merging = next((job for job in waiting if not job.payload.get("backfill")), None)
    if trigger in AUTOMATIC and merging is not None:
        return merging
    return enqueue(session, RETRAIN, classifier.id, payload, reason=reason, coalesce=False)


def after_review(session: Session, classifier: Classifier) -> Job | None:
    """When a task is settled (review announces it): queue a retrain once enough labels wait
    to be merged."""
    if classifier.retrain_after <= 0:
        return None
    waiting = session.scalar(
        select(func.count()).select_from(unmerged_reviewed(classifier).subquery())
    )
    if (waiting or 0) < classifier.retrain_after:
        return None
    return request_retrain(
        session, classifier.name, f"{waiting} new reviewed labels", trigger=LABELS
    )


def connect_triggers() -> None:
    """Subscribe the retrain triggers to what review announces. Whatever settles review tasks
    (the server: the API and the portal) calls this as it is built, so that decisions queue
    retrains because it asked, not because some module it loads happens to import this one;
    connecting again changes nothing."""
    REVIEW_DECIDED.connect(after_review)


def configure(
    session: Session,
    name: str,
    retrain_after: int | None = None,
    deploy_mode: str | None = None,
    schedule: str | None = None,
    model: str | None = None,
) -> Classifier:
    """Change what is given; ``schedule=""`` removes the schedule, ``model="auto"`` the family."""
    classifier = get_classifier(session, name)
    if schedule is not None:
        classifier.retrain_schedule = parse_schedule(schedule).text if schedule.strip() else None
        classifier.schedule_checked_at = None
    if model is not None:
        from textloop.models.base import families
        from textloop.pipeline.training import AUTO

        if model != AUTO:
            families.get(model)  # an unknown family is refused here, not at the next retrain
        classifier.retrain_model = None if model == AUTO else model
    if retrain_after is not None:
        if retrain_after < 0:
            raise InvalidRequest("retrain_after must be 0 (off) or more", field="retrain_after")
        classifier.retrain_after = retrain_after
    if deploy_mode is not None:
        if deploy_mode not in DEPLOY_MODES:
            raise InvalidRequest(
                f"deploy_mode must be one of {', '.join(DEPLOY_MODES)}, not {deploy_mode!r}",
                field="deploy_mode",
            )
        classifier.deploy_mode = deploy_mode
    return classifier


def fire_due_schedules(session: Session, now: datetime | None = None) -> list[Job]:
    """Queue a retrain for every classifier whose schedule fired since it was last checked.

    A schedule first seen now starts counting from now; a worker that was down for days fires
    once, not once per missed occasion. Rows are locked so concurrent workers check in turn.
    """
    now = now or utcnow()
    queued = []
    classifiers = session.scalars(
        select(Classifier)
        .where(Classifier.retrain_schedule.is_not(None))
        .with_for_update(skip_locked=True)
    )
    for classifier in classifiers:
        checked = classifier.schedule_checked_at
        classifier.schedule_checked_at = now
        if checked is None:
            continue
        checked = as_utc(checked)
        schedule = parse_schedule(classifier.retrain_schedule or "")
        if schedule.next_after(checked) <= now:
            reason = f"schedule {schedule.text}"
            queued.append(request_retrain(session, classifier.name, reason, trigger="schedule"))
    return queued
