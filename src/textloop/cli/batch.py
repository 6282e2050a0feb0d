"""``textloop batch-classify``: a file or folder of texts classified into another, with a
progress bar, or queued as a durable job with ``--background``; ``textloop batch-jobs`` shows
and cancels such jobs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from textloop.cli.context import JsonFlag, invocation, setting_option
from textloop.cli.output import emit_json, err, out

app = typer.Typer()
batch_jobs_app = typer.Typer(help="Batch classification jobs run by workers.", no_args_is_help=True)
app.add_typer(batch_jobs_app, name="batch-jobs")


@app.command("batch-classify")
def batch_classify(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    input: Annotated[
        Path, typer.Argument(help="CSV, TSV, JSONL or Parquet file, or a folder of Parquet parts.")
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="File (.parquet, .csv, .jsonl) or folder (Parquet parts)."
        ),
    ],
    engine: Annotated[str | None, setting_option("engine")] = None,
    text_column: Annotated[str, typer.Option(help="Column holding the texts.")] = "text",
    id_column: Annotated[
        str | None, typer.Option(help="Column identifying each row (checked, kept).")
    ] = None,
    file_format: Annotated[
        str | None,
        typer.Option("--format", help="parquet, csv or jsonl (default: the output's extension)."),
    ] = None,
    alias: Annotated[str, typer.Option(help="Model alias to classify with.")] = "production",
    top_k: Annotated[int, typer.Option(help="Best labels and scores added per row.")] = 3,
    review_below: Annotated[
        float | None, typer.Option(help="Rows less confident than this are review candidates.")
    ] = None,
    review_limit: Annotated[
        int, typer.Option(help="How many of the least confident candidates become review tasks.")
    ] = 0,
    ray_address: Annotated[str | None, setting_option("ray_address")] = None,
    chunk_rows: Annotated[
        int,
        typer.Option(
            min=1, max=100_000, help="Rows read, scored and written at a time (resume point)."
        ),
    ] = 2048,
    background: Annotated[
        bool, typer.Option(help="Queue a durable job for a worker instead of running here.")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Show the engine's own logging (Ray's, and its workers')."
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Classify every row of INPUT with a pinned model version into OUTPUT.

    The output keeps every input column and adds predicted_label, confidence, model_version,
    topN_label/topN_score and error (why a row got no prediction).
    """
    from textloop.batch.engines import engine_options
    from textloop.batch.run import BatchRequest, classify_file, prepare, rows_per_second

    run = invocation(ctx, engine=engine, ray_address=ray_address)
    config = run.settings
    request = BatchRequest(
        classifier=name,
        input=input.expanduser().absolute(),
        output=output.expanduser().absolute(),
        format=file_format,
        text_column=text_column,
        id_column=id_column,
        alias=alias,
        top_k=top_k,
        review_below=review_below,
        review_limit=review_limit,
        engine=config.engine,
        options=engine_options(config.engine, config, verbose),  # an unknown engine: refused
        chunk_rows=chunk_rows,
    )
    store = run.store
    if background:
        from textloop.batch.jobs import submit

        job = submit(store, config, request)
        if as_json:
            emit_json(job)
            return
        out.print(
            f"batch job {job['id']} queued; follow it with `textloop batch-jobs show {job['id']}`"
        )
        return
    prepared = prepare(store, request)  # refuses bad input before the bar shows
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} rows/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=as_json,
    ) as bar:
        task = bar.add_task("classifying", total=prepared.plan.rows, rate="-")
        began = time.monotonic()

        def advance(rows: int) -> None:
            rate = rows_per_second(rows, time.monotonic() - began)  # over the run, not a burst
            bar.update(task, completed=rows, rate=f"{rate:,.0f}")

        summary = classify_file(store, config, prepared, advance)
    if as_json:
        emit_json(summary.as_dict())
        return
    errors = (
        f", {summary.errors:,} without a prediction (see the error column)"
        if summary.errors
        else ""
    )
    tasks = f"; {summary.review_tasks} sent to review" if summary.review_tasks else ""
    out.print(
        f"{summary.rows:,} rows classified with {name} model version {summary.model_version} "
        f"in {summary.seconds:.1f}s ({summary.rows_per_second:,.0f} rows/s){errors}{tasks}; "
        f"wrote {summary.output}",
        highlight=False,
        soft_wrap=True,
    )


@batch_jobs_app.command("list")
def list_batch_jobs(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this classifier's jobs.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The newest batch jobs, with their progress."""
    from textloop.batch.jobs import describe, list_jobs
    from textloop.store.queries import get_classifier

    store = invocation(ctx).store
    with store.session() as session:
        classifier_id = get_classifier(session, name).id if name else None
        shown = [describe(session, job) for job in list_jobs(session, classifier_id)]
    if as_json:
        emit_json(shown)
        return
    for job in shown:
        out.print(_line(job), highlight=False, soft_wrap=True)


@batch_jobs_app.command("show")
def show_batch_job(ctx: typer.Context, job_id: str, as_json: JsonFlag = False) -> None:
    """One batch job: status, rows done, rows per second, errors."""
    from textloop.batch.jobs import describe, find

    store = invocation(ctx).store
    with store.session() as session:
        job = describe(session, find(session, job_id))
    if as_json:
        emit_json(job)
        return
    out.print(_line(job), highlight=False, soft_wrap=True)
    if job["error"]:
        out.print(f"error: {job['error']}", highlight=False, soft_wrap=True)


@batch_jobs_app.command("cancel")
def cancel_batch_job(ctx: typer.Context, job_id: str, as_json: JsonFlag = False) -> None:
    """Stop a batch job (a running one stops after the chunk it is scoring)."""
    from textloop.batch.jobs import cancel, describe, find

    store = invocation(ctx).store
    with store.session() as session:
        job = find(session, job_id)
        cancel(session, job)
        shown = describe(session, job)
    if as_json:
        emit_json(shown)
        return
    out.print(
        f"batch job {job_id}: cancel requested ({shown['status']})", highlight=False, soft_wrap=True
    )


def _line(job: dict[str, object]) -> str:
    rate = f", {job['rows_per_second']:,} rows/s" if job["rows_per_second"] else ""
    failed = f", {job['rows_failed']:,} without a prediction" if job["rows_failed"] else ""
    return (
        f"{job['id']}  {job['classifier']}  {job['status']}  "
        f"{job['rows_done']:,}/{job['rows_total']:,} rows{rate}{failed}"
    )
