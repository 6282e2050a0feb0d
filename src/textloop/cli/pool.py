"""``textloop pool``: unlabelled texts kept per classifier (``add``), and the most useful of
them, as the production model sees them, sent to review (``sample``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from textloop.cli.audit import audit_command
from textloop.cli.context import JsonFlag, invocation
from textloop.cli.output import emit_json, err, out
from textloop.cli.reading import (
    Delimiter,
    Encoding,
    FileFormat,
    Notes,
    SkipBadRows,
    read_options,
)

app = typer.Typer()
pool_app = typer.Typer(help="Unlabelled texts and choosing which to review.", no_args_is_help=True)
app.add_typer(pool_app, name="pool")


@pool_app.command("add")
def pool_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV, TSV, JSONL, Parquet or .xlsx file of texts, or a Label Studio or Argilla "
            "export."
        ),
    ],
    text_column: Annotated[str, typer.Option(help="Column holding the text.")] = "text",
    file_format: FileFormat = None,
    delimiter: Delimiter = None,
    encoding: Encoding = None,
    skip_bad_rows: SkipBadRows = False,
    as_json: JsonFlag = False,
) -> None:
    """Add the texts of FILE to the classifier's unlabelled pool (each text once)."""
    from textloop.data.readers import read_text_file
    from textloop.review.pool import add_to_pool

    notes = Notes()
    texts = read_text_file(
        file, text_column, read_options(delimiter, encoding, skip_bad_rows, file_format), notes
    )
    notes.show()
    with invocation(ctx).store.session() as session:
        added = add_to_pool(session, name, texts)
        audit_command(ctx, session, name, added=added.added, duplicates=added.duplicates)
    if as_json:
        emit_json(added.__dict__)
        return
    out.print(
        f"Added {added.added:,} texts to the pool of {name}; {added.size:,} wait to be chosen",
        highlight=False,
    )
    skipped = {
        "repeated earlier in the file": added.repeated,
        "already in the pool": added.pooled,
        "already labelled": added.labelled,
        "empty": added.empty,
    }
    if any(skipped.values()):
        parts = ", ".join(f"{count:,} {why}" for why, count in skipped.items() if count)
        err.print(f"not added: {parts}", highlight=False)


@pool_app.command("sample")
def pool_sample(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    n: Annotated[int, typer.Option("--n", help="How many texts to send to review.")] = 100,
    strategy: Annotated[
        str,
        typer.Option(help="random, least-confidence, margin, breaking-ties, entropy, or diverse."),
    ] = "diverse",
    seed: Annotated[int, typer.Option(help="Seed for the strategies that draw at random.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Turn the N most useful pool texts into review tasks, chosen by the production model."""
    from textloop.data.label_sets import as_written
    from textloop.review.pool import sample_pool

    run = invocation(ctx)
    tasks = sample_pool(run.store, run.models, name, n, strategy, seed)
    audit_command(ctx, run.store, name, tasks=len(tasks), strategy=strategy)
    chosen: list[dict[str, Any]] = [
        {
            "task": t.id,
            "text": t.text,
            "suggested_label": as_written(t.suggested_label),
            "confidence": t.confidence,
        }
        for t in tasks
    ]
    if as_json:
        emit_json(chosen)
        return
    out.print(f"Sent {len(chosen):,} pool texts of {name} to review ({strategy})", highlight=False)
    for item in chosen[:10]:
        sure = "  -  " if item["confidence"] is None else f"{item['confidence']:.2f}"  # random
        out.print(
            f"  {sure} {item['suggested_label'] or '(none)'}: {item['text'][:70]}",
            highlight=False,
            markup=False,
        )
