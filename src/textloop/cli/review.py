"""``textloop review``: the review queue from the CLI. ``review corrections`` fills it from a
file, ``review check`` from agreed labels that look wrong, ``review tasks`` lists it, ``review
export`` writes every decision for analysis, or every task for Label Studio. ``review proposals``
lists the new labels reviewers proposed, which ``approve-label`` adds (their tasks then train on
them) and ``reject-label`` turns down.

They were top-level commands (``review-check``, ``corrections``, ...) before they became one
group; ``RENAMED`` keeps those names working for a release, so scripts have time to move.

Binary formats never go to a terminal: Parquet needs ``--output``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from textloop.cli.audit import audit_command
from textloop.cli.context import JsonFlag, invocation
from textloop.cli.output import emit_json, err, out
from textloop.cli.reading import LabelSeparator
from textloop.errors import InvalidRequest

BINARY_FORMATS = ("parquet",)

app = typer.Typer()
review_app = typer.Typer(
    help="The review queue: fill it, check agreed labels, list and export it, and decide the "
    "new labels reviewers propose.",
    no_args_is_help=True,
)
app.add_typer(review_app, name="review")

# Old top-level name → the words that name it now. The root group reads an old name as the new
# one (hidden from --help and the docs), and says so on stderr; drop them after a release.
RENAMED: dict[str, tuple[str, ...]] = {
    "review-check": ("review", "check"),
    "corrections": ("review", "corrections"),
    "review-tasks": ("review", "tasks"),
    "review-export": ("review", "export"),
}


@review_app.command("check")
def review_check(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    family: Annotated[str, typer.Option(help="Model family that scores the labels.")] = "ngram",
    as_json: JsonFlag = False,
) -> None:
    """Send agreed review labels that look wrong to a second review (confident learning)."""
    from textloop.models.base import ModelResources, Use
    from textloop.review.label_quality import check_reviewed_labels

    run = invocation(ctx)
    store = run.store
    resources = ModelResources.for_settings(run.settings, Use.TRAINING)
    result = check_reviewed_labels(store, name, family, resources)
    audit_command(ctx, store, name, checked=result.checked, flagged=len(result.flagged))
    if as_json:
        emit_json({"checked": result.checked, "flagged": result.flagged})
        return
    out.print(
        f"Checked {result.checked:,} reviewed labels of {name}; "
        f"{len(result.flagged):,} sent to a second review",
        highlight=False,
    )


@review_app.command("corrections")
def corrections(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    file: Annotated[
        Path, typer.Argument(help="CSV, TSV, JSONL or Parquet: label and text or prediction_id.")
    ],
    label_separator: LabelSeparator = None,
    as_json: JsonFlag = False,
) -> None:
    """Record a file of corrections as explicit feedback (each row opens a review task); the
    same file sent again records nothing. A multi-label classifier's label cell holds a set
    (``card|refund``; an empty cell: no label applies)."""
    from textloop.review.corrections import record_corrections

    run = invocation(ctx)
    answer = record_corrections(
        run.store,
        run.models,
        name,
        file.expanduser().absolute(),
        label_separator=label_separator,
    )
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


@review_app.command("tasks")
def review_tasks(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    status: Annotated[str, typer.Option(help="open, done, conflict, or all.")] = "open",
    limit: Annotated[int, typer.Option(help="How many, oldest first.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """The review tasks of a classifier: id, source, status, suggested label and text (a
    multi-label classifier's sets as their names joined by ``|``)."""
    from textloop.data.label_sets import as_written
    from textloop.review.tasks import list_tasks

    with invocation(ctx).store.session() as session:
        tasks = [
            {
                "id": task.id,
                "source": task.source,
                "status": task.status,
                "suggested_label": as_written(task.suggested_label),
                "reported_label": as_written(task.reported_label),
                "final_label": as_written(task.final_label),
                "confidence": task.confidence,
                "text": task.text,
                "created_at": task.created_at.isoformat(),
            }
            for task in list_tasks(session, name, status, limit)
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
        if task["status"] == "done" and task["final_label"] is None:
            label = "(none of these)"  # its reviewers agreed that no label fits
        out.print(
            f"{task['id']}  {task['source']:<8} {task['status']:<8} {label}{confidence}  "
            f"{str(task['text'])[:70]}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


@review_app.command("export")
def review_export(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    file_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="csv, jsonl or parquet (the decisions), or label-studio (the tasks, in Label "
            "Studio's import format).",
        ),
    ] = "csv",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: stdout; not for parquet)."),
    ] = None,
    data_key: Annotated[
        str, typer.Option(help="label-studio: the data field of the text ($text in the config).")
    ] = "text",
    from_name: Annotated[
        str, typer.Option(help="label-studio: the name of the Choices control.")
    ] = "label",
    to_name: Annotated[
        str, typer.Option(help="label-studio: the name of the Text object it labels.")
    ] = "text",
) -> None:
    """Every review decision of a classifier (task, text, source, decision, reviewer, time), or
    every review task as a Label Studio task."""
    from textloop.review.export import export_review
    from textloop.review.label_studio import LabelStudioNames

    if output is None and file_format in BINARY_FORMATS:
        raise InvalidRequest(
            f"--format {file_format} is binary: write it to a file with --output FILE",
            field="output",
        )
    names = LabelStudioNames(data_key=data_key, from_name=from_name, to_name=to_name)
    with invocation(ctx).store.session() as session:
        data = export_review(session, name, file_format, names)
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        err.print(f"wrote {len(data):,} bytes to {output}", highlight=False)


@review_app.command("proposals")
def review_proposals(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    as_json: JsonFlag = False,
) -> None:
    """The new labels reviewers proposed for texts that fit none, waiting for an admin: each
    name with how often it was proposed, by whom, for which texts, and how many settled tasks
    approving it would train on it."""
    from textloop.review.label_proposals import pending_names

    with invocation(ctx).store.session() as session:
        names = pending_names(session, name)
    if as_json:
        emit_json([proposed.as_dict() for proposed in names])
        return
    if not names:
        out.print(f"{name}: no proposed labels waiting", highlight=False, markup=False)
        return
    out.print(f"{name}: {len(names)} proposed labels waiting, the most proposed first")
    for proposed in names:
        already = " (a label already)" if proposed.is_label else ""
        out.print(
            f"{proposed.name}{already}  {proposed.proposals} proposals, "
            f"{proposed.settled} settled tasks; by {', '.join(proposed.proposers)}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        for text in proposed.samples:
            out.print(f"    {text[:70]}", highlight=False, markup=False, soft_wrap=True)


@review_app.command("approve-label")
def approve_label(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    label: Annotated[str, typer.Argument(help="The proposed name to add as a label.")],
    as_json: JsonFlag = False,
) -> None:
    """Add a proposed name as a label: the settled tasks whose reviewers all proposed it train
    on it at the next retrain (queued now when enough reviewed labels wait)."""
    from textloop.continuous.triggers import connect_triggers
    from textloop.review.label_proposals import approve

    connect_triggers()  # relabelled tasks count towards retrain_after, as the server's do
    with invocation(ctx).store.session() as session:
        outcome = approve(session, name, label)
        relabelled = len(outcome.relabelled)
        added = outcome.label_added
        audit_command(
            ctx, session, name, label=outcome.name, label_added=added, relabelled=relabelled
        )
    if as_json:
        emit_json(outcome.as_dict())
        return
    now = "added as a label" if outcome.label_added else "a label already"
    out.print(
        f"Approved {outcome.name!r} for {name}: {now}; {relabelled} reviewed tasks now labelled "
        "with it train at the next retrain",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


@review_app.command("reject-label")
def reject_label(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    label: Annotated[str, typer.Argument(help="The proposed name to turn down.")],
    as_json: JsonFlag = False,
) -> None:
    """Turn a proposed name down: its tasks stay "none of these" and train nothing."""
    from textloop.review.label_proposals import reject

    with invocation(ctx).store.session() as session:
        outcome = reject(session, name, label)
        audit_command(ctx, session, name, label=outcome.name, rejected=outcome.proposals)
    if as_json:
        emit_json(outcome.as_dict())
        return
    out.print(
        f"Rejected {outcome.name!r} for {name}: {outcome.proposals} proposals; their tasks stay "
        '"none of these"',
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
