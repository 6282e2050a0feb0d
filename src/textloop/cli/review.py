"""The review queue from the CLI: ``textloop review-tasks`` lists it, ``review-export`` writes
every decision for analysis.

Binary formats never go to a terminal: Parquet needs ``--output``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from textloop.cli.context import JsonFlag, settings
from textloop.cli.output import emit_json, err, out
from textloop.errors import InvalidRequest

BINARY_FORMATS = ("parquet",)


def register_review_commands(app: typer.Typer) -> None:
    app.command("review-tasks")(review_tasks)
    app.command("review-export")(review_export)
    app.command("corrections")(corrections)


def corrections(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    file: Annotated[
        Path, typer.Argument(help="CSV, TSV, JSONL or Parquet: label and text or prediction_id.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Record a file of corrections as explicit feedback (each row opens a review task); the
    same file sent again records nothing."""
    from textloop.models.base import ModelResources
    from textloop.predict.model_cache import ModelCache
    from textloop.review.corrections import record_corrections
    from textloop.store import open_store

    config = settings(ctx)
    models = ModelCache(config.artifact_root, ModelResources.for_settings(config))
    answer = record_corrections(open_store(config), models, name, file.expanduser().absolute())
    if as_json:
        emit_json(answer)
        return
    if not answer["created"]:
        out.print(f"{file.name} was recorded before; nothing new", highlight=False)
        return
    out.print(
        f"{answer['rows']:,} corrections recorded; {answer['review_tasks']:,} review tasks",
        highlight=False,
    )


def review_tasks(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    status: Annotated[str, typer.Option(help="open, done, conflict, or all.")] = "open",
    limit: Annotated[int, typer.Option(help="How many, oldest first.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """The review tasks of a classifier: id, source, status, suggested label and text."""
    from textloop.review.tasks import list_tasks
    from textloop.store import open_store

    with open_store(settings(ctx)).session() as session:
        tasks = [
            {
                "id": task.id,
                "source": task.source,
                "status": task.status,
                "suggested_label": task.suggested_label,
                "reported_label": task.reported_label,
                "final_label": task.final_label,
                "confidence": task.confidence,
                "text": task.text,
                "created_at": task.created_at.isoformat(),
            }
            for task in list_tasks(session, name, None if status == "all" else status, limit)
        ]
    if as_json:
        emit_json(tasks)
        return
    if not tasks:
        out.print(f"{name}: no {'' if status == 'all' else status + ' '}review tasks")
        return
    out.print(f"{name}: {len(tasks)} review tasks (id, source, status, label, text)")
    for task in tasks:
        confidence = "" if task["confidence"] is None else f" ({task['confidence']:.2f})"
        label = task["final_label"] or task["suggested_label"] or "-"
        out.print(
            f"{task['id']}  {task['source']:<8} {task['status']:<8} {label}{confidence}  "
            f"{str(task['text'])[:70]}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


def review_export(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    file_format: Annotated[str, typer.Option("--format", help="csv, jsonl or parquet.")] = "csv",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: stdout; not for parquet)."),
    ] = None,
) -> None:
    """Every review decision of a classifier: task, text, source, decision, reviewer, time."""
    from textloop.review.export import decisions_table, export_bytes
    from textloop.store import open_store

    if output is None and file_format in BINARY_FORMATS:
        raise InvalidRequest(
            f"--format {file_format} is binary: write it to a file with --output FILE",
            field="output",
        )
    with open_store(settings(ctx)).session() as session:
        data = export_bytes(decisions_table(session, name), file_format)
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        err.print(f"wrote {len(data):,} bytes to {output}", highlight=False)
