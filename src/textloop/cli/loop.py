"""Commands of the continuous-training loop: the worker, retrain triggers and policy, jobs and
events."""

from __future__ import annotations

import threading
from typing import Annotated, Any

import typer

from textloop.cli.audit import audit_command
from textloop.cli.context import JsonFlag, invocation
from textloop.cli.output import emit_json, out

app = typer.Typer()


@app.command()
def worker(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option(help="Run the due jobs, then exit.")] = False,
    poll: Annotated[float, typer.Option(help="Seconds between looks for new jobs.")] = 1.0,
) -> None:
    """Run queued jobs (retrains) until interrupted; start as many as you like."""
    from textloop.worker import Worker

    run = invocation(ctx)
    runner = Worker(run.store, run.settings)
    out.print(f"worker {runner.name} waiting for jobs", highlight=False)
    if once:
        while runner.run_once():
            pass
        return
    runner.run(threading.Event(), poll)


@app.command()
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

    with invocation(ctx).store.session() as session:
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


@app.command()
def jobs(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="Only jobs in this state.")] = None,
    limit: Annotated[int, typer.Option(help="How many of the newest jobs.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """The newest jobs and how they went (queued, running, succeeded, dead)."""
    from sqlalchemy import select

    from textloop.store.tables import Job

    with invocation(ctx).store.session() as session:
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


@app.command()
def events(
    ctx: typer.Context,
    after: Annotated[int, typer.Option(help="Only events after this id (a cursor).")] = 0,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Events (run.started, model.deployed, ...) oldest first."""
    from textloop.notifications.events import list_events

    with invocation(ctx).store.session() as session:
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


@app.command("retrain-policy")
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

    with invocation(ctx).store.session() as session:
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
