"""Commands of the continuous-training loop: the worker, retrain triggers, jobs and events."""

from __future__ import annotations

import threading
from typing import Annotated, Any

import typer

from textloop.cli.audit import audit_command
from textloop.cli.context import JsonFlag, settings
from textloop.cli.output import emit_json, out

webhooks_app = typer.Typer(help="Where events are POSTed, signed.", no_args_is_help=True)


def register_loop_commands(app: typer.Typer) -> None:
    app.add_typer(webhooks_app, name="webhooks")
    app.command()(worker)
    app.command()(retrain)
    app.command()(jobs)
    app.command()(events)
    app.command("retrain-policy")(retrain_policy)
    app.command()(rollback)


def worker(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option(help="Run the due jobs, then exit.")] = False,
    poll: Annotated[float, typer.Option(help="Seconds between looks for new jobs.")] = 1.0,
) -> None:
    """Run queued jobs (retrains) until interrupted; start as many as you like."""
    from textloop.jobs.worker import Worker
    from textloop.store import open_store

    runner = Worker(open_store(settings(ctx)), settings(ctx))
    out.print(f"worker {runner.name} waiting for jobs", highlight=False)
    if once:
        while runner.run_once():
            pass
        return
    runner.run(threading.Event(), poll)


def retrain(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    model: Annotated[str | None, typer.Option(help="Model family (default: auto).")] = None,
    dataset_version: Annotated[
        int | None, typer.Option(help="Backfill: retrain on this dataset version as it is.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Backfill every dataset version created since this date (UTC)."),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="... and before the end of this date (UTC).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Queue a retrain: merge reviewed labels, train, evaluate, deploy if blessed."""
    from textloop.continuous.backfill import parse_moment, request_backfill
    from textloop.continuous.triggers import request_retrain
    from textloop.errors import InvalidRequest
    from textloop.jobs.presence import live_workers
    from textloop.store import open_store

    with open_store(settings(ctx)).session() as session:
        if since is None and until is None:
            queued = [request_retrain(session, name, "by hand (CLI)", model, dataset_version)]
        elif dataset_version is not None:
            raise InvalidRequest(
                "give --dataset-version or a date range, not both", field="dataset_version"
            )
        else:
            start = parse_moment(since, "since") if since else None
            end = parse_moment(until, "until", end_of_day=True) if until else None
            queued = request_backfill(session, name, start, end, model, "backfill (CLI)")
        summaries = [_job(job) for job in queued]
        workers = live_workers(session)
        audit_command(ctx, session, name, jobs=[summary["id"] for summary in summaries])
    if as_json:
        emit_json(summaries if since or until else summaries[0])  # a range: a list of jobs
        return
    for summary in summaries:
        version = summary["payload"].get("dataset_version")
        over = f" over dataset version {version}" if version else ""
        out.print(f"queued job {summary['id']}{over} ({summary['status']})", highlight=False)
    out.print(who_runs_it(workers), highlight=False)


def who_runs_it(workers: list[str]) -> str:
    """Whether a running worker will pick queued jobs up, or one must be started."""
    if not workers:
        return (
            "no worker is running: start `textloop worker` (or `textloop serve --with-worker`) "
            "to run it"
        )
    if len(workers) == 1:
        return f"worker {workers[0]} is running and will pick it up"
    return f"workers {workers[0]} and {len(workers) - 1} more are running; one will pick it up"


def jobs(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="Only jobs in this state.")] = None,
    limit: Annotated[int, typer.Option(help="How many of the newest jobs.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """The newest jobs and how they went (queued, running, succeeded, dead)."""
    from sqlalchemy import select

    from textloop.store import open_store
    from textloop.store.tables import Job

    with open_store(settings(ctx)).session() as session:
        query = select(Job).order_by(Job.id.desc()).limit(limit)
        if status:
            query = query.where(Job.status == status)
        rows = [_job(job) for job in session.scalars(query)]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        error = f"  {row['error'].splitlines()[0]}" if row["error"] else ""
        out.print(
            f"{row['id']:>5}  {row['kind']:<8} {row['status']:<9} attempts {row['attempts']}  "
            f"{row['created_at']}  {row['reason']}{error}",
            highlight=False,
            markup=False,
        )


def events(
    ctx: typer.Context,
    after: Annotated[int, typer.Option(help="Only events after this id (a cursor).")] = 0,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Events (run.started, model.deployed, ...) oldest first."""
    from textloop.notifications.events import list_events
    from textloop.store import open_store

    with open_store(settings(ctx)).session() as session:
        rows = [
            {"id": e.id, "type": e.type, "data": e.data, "created_at": e.created_at.isoformat()}
            for e in list_events(session, after, limit)
        ]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        out.print(
            f"{row['id']:>6}  {row['created_at']}  {row['type']:<16} {row['data']}",
            highlight=False,
            markup=False,
        )


def retrain_policy(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    after: Annotated[
        int | None, typer.Option(help="Retrain after this many new reviewed labels (0: never).")
    ] = None,
    deploy: Annotated[
        str | None, typer.Option(help="auto: deploy a blessed model; manual: wait for an admin.")
    ] = None,
    schedule: Annotated[
        str | None,
        typer.Option(help='Also retrain on a cron schedule in UTC ("0 3 * * *"); "" removes it.'),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model family retrains train (default: auto).")
    ] = None,
    slice_columns: Annotated[
        str | None,
        typer.Option(
            help='Comma-separated extra columns trainings report test slices by; "" removes them.'
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show or change when a classifier retrains, how, and whether it deploys by itself."""
    from textloop.continuous.triggers import configure
    from textloop.pipeline.slice_settings import store_slice_columns
    from textloop.store import open_store

    with open_store(settings(ctx)).session() as session:
        classifier = configure(session, name, after, deploy, schedule, model)
        if slice_columns is not None:
            store_slice_columns(classifier, slice_columns.split(","))
        changes = {
            "after": after,
            "deploy": deploy,
            "schedule": schedule,
            "model": model,
            "slice_columns": slice_columns,
        }
        if any(value is not None for value in changes.values()):
            audit_command(ctx, session, name, **changes)
        policy: dict[str, Any] = {
            "classifier": name,
            "retrain_after": classifier.retrain_after,
            "deploy_mode": classifier.deploy_mode,
            "schedule": classifier.retrain_schedule,
            "model": classifier.retrain_model or "auto",
            "slice_columns": classifier.slice_columns or [],
        }
    if as_json:
        emit_json(policy)
        return
    out.print(
        f"{name}: retrain after {policy['retrain_after']} new reviewed labels "
        f"(0 = never), on schedule {policy['schedule'] or '(none)'}, "
        f"deploy {policy['deploy_mode']}, model {policy['model']}, slice columns "
        f"{', '.join(policy['slice_columns']) or '(none)'}",
        highlight=False,
    )


def rollback(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    as_json: JsonFlag = False,
) -> None:
    """Point production back at the version it served before the current one."""
    from textloop.registry.rollback import rollback as roll_back
    from textloop.store import open_store

    store = open_store(settings(ctx))
    moved = roll_back(store, name)
    audit_command(ctx, store, name, version=moved.version, previous_version=moved.previous_version)
    if as_json:
        emit_json(moved.__dict__)
        return
    out.print(
        f"[bold]{name}[/] production is back on model version {moved.version} "
        f"(was version {moved.previous_version})"
    )


@webhooks_app.command("add")
def webhooks_add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Where to POST events (http or https).")],
    secret_stdin: Annotated[
        bool, typer.Option("--secret-stdin", help="Read the signing secret from stdin.")
    ] = False,
    secret: Annotated[
        str | None, typer.Option(help="The signing secret (16+ characters).", hidden=True)
    ] = None,
    classifier: Annotated[
        str | None, typer.Option(help="Only this classifier's events (default: all).")
    ] = None,
    events: Annotated[
        str | None, typer.Option(help="Comma-separated event types (default: all).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Send events to URL, signed with HMAC-SHA256 in X-Textloop-Signature."""
    import sys

    from textloop.notifications.destinations import Destinations, without_credentials
    from textloop.notifications.webhooks import add_webhook
    from textloop.store import open_store

    key = sys.stdin.readline().strip() if secret_stdin else secret
    if key is None:
        key = typer.prompt("Signing secret", hide_input=True)
    types = [t.strip() for t in events.split(",") if t.strip()] if events else None
    destinations = Destinations(settings(ctx).webhook_allowed_hosts)
    with open_store(settings(ctx)).session() as session:
        hook = add_webhook(session, url, key, classifier, types, destinations)
        summary = {"id": hook.id, "url": hook.url, "events": hook.event_types or "all"}
        shown = without_credentials(hook.url)
        audit_command(ctx, session, f"webhook {hook.id}", url=shown, classifier=classifier)
    if as_json:
        emit_json(summary)
        return
    out.print(f"webhook {summary['id']} → {without_credentials(url)}", highlight=False)


WebhookId = Annotated[int, typer.Argument(help="Webhook id (from `webhooks add` or the portal).")]


@webhooks_app.command("disable")
def webhooks_disable(ctx: typer.Context, webhook_id: WebhookId, as_json: JsonFlag = False) -> None:
    """Send a webhook nothing more until enabled; deliveries already queued wait, in order."""
    _switch(ctx, webhook_id, active=False, as_json=as_json)


@webhooks_app.command("enable")
def webhooks_enable(ctx: typer.Context, webhook_id: WebhookId, as_json: JsonFlag = False) -> None:
    """Send to a disabled webhook again, the deliveries queued meanwhile first."""
    _switch(ctx, webhook_id, active=True, as_json=as_json)


@webhooks_app.command("delete")
def webhooks_delete(ctx: typer.Context, webhook_id: WebhookId, as_json: JsonFlag = False) -> None:
    """Delete a webhook and its deliveries, sent or not."""
    from textloop.notifications.destinations import without_credentials
    from textloop.notifications.webhooks import delete_webhook, get_webhook
    from textloop.store import open_store

    with open_store(settings(ctx)).session() as session:
        hook = get_webhook(session, webhook_id)
        shown = without_credentials(hook.url)
        delete_webhook(session, hook)
        audit_command(ctx, session, f"webhook {webhook_id}", url=shown)
    if as_json:
        emit_json({"id": webhook_id, "url": shown, "deleted": True})
        return
    out.print(f"deleted webhook {webhook_id} ({shown})", highlight=False, markup=False)


def _switch(ctx: typer.Context, webhook_id: int, active: bool, as_json: bool) -> None:
    from textloop.notifications.destinations import without_credentials
    from textloop.notifications.webhooks import get_webhook, set_active
    from textloop.store import open_store

    with open_store(settings(ctx)).session() as session:
        hook = get_webhook(session, webhook_id)
        shown = without_credentials(hook.url)
        set_active(session, hook, active)
        audit_command(ctx, session, f"webhook {webhook_id}", url=shown, active=active)
    if as_json:
        emit_json({"id": webhook_id, "url": shown, "active": active})
        return
    state = "enabled" if active else "disabled"
    out.print(f"{state} webhook {webhook_id} ({shown})", highlight=False, markup=False)


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many of the newest deliveries.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """The delivery log: each event sent to each webhook, its attempts and the answer."""
    from textloop.notifications.webhooks import delivery_log
    from textloop.store import open_store

    with open_store(settings(ctx)).session() as session:
        rows = delivery_log(session, limit)
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        out.print(
            f"{row['id']:>6}  webhook {row['webhook']}  event {row['event']} {row['type']:<16} "
            f"{row['status']:<9} attempts {row['attempts']}  {row['error'] or ''}",
            highlight=False,
            markup=False,
        )


def _job(job: Any) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "attempts": job.attempts,
        "reason": job.reason,
        "payload": job.payload,
        "result": job.result,
        "error": job.error,
        "created_at": job.created_at.isoformat() if job.created_at else None,
    }
