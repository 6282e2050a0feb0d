"""Labelled data from the command line: ``textloop ingest`` stores a file as a dataset version,
``stats`` shows what ingest recorded about one, ``validate`` checks a file without storing it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from textloop.cli.audit import audit_command
from textloop.cli.context import JsonFlag, invocation
from textloop.cli.output import emit_json, err, fail, out
from textloop.cli.reading import (
    Delimiter,
    Encoding,
    FileFormat,
    LabelSeparator,
    Notes,
    SkipBadRows,
    label_set_options,
    read_options,
)

app = typer.Typer()

LabelledFile = Annotated[
    Path,
    typer.Argument(
        help="CSV, TSV, JSONL, Parquet or .xlsx file of labelled text, or a Label Studio or "
        "Argilla export."
    ),
]
TextColumn = Annotated[
    str,
    typer.Option(help="Column holding the text (a Label Studio data field, an Argilla field)."),
]
LabelColumn = Annotated[
    str,
    typer.Option(
        help="Column holding the label (an export's Choices control or question; "
        "'annotation' in Argilla 1.x)."
    ),
]


@app.command()
def ingest(
    ctx: typer.Context,
    file: LabelledFile,
    classifier: Annotated[str, typer.Option("--classifier", "-c", help="Classifier name.")],
    text_column: TextColumn = "text",
    label_column: LabelColumn = "label",
    split_column: Annotated[
        str | None, typer.Option(help="Optional column of train/validation/test assignments.")
    ] = None,
    test_file: Annotated[
        Path | None,
        typer.Option(help="A separate file whose rows form the test split (same columns)."),
    ] = None,
    file_format: FileFormat = None,
    delimiter: Delimiter = None,
    encoding: Encoding = None,
    skip_bad_rows: SkipBadRows = False,
    multi_label: Annotated[
        bool,
        typer.Option(
            "--multi-label",
            help="Each text carries a set of labels, joined by '|' in the label column (an "
            "empty cell: none applies), or a Parquet/JSON list. Fixed when the classifier is "
            "created.",
        ),
    ] = False,
    label_separator: LabelSeparator = None,
    new_labels: Annotated[
        bool,
        typer.Option(
            "--new-labels",
            help="Let a multi-label classifier take label names it does not know yet (they are "
            "refused otherwise); a single-label classifier always does.",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Store FILE as a new dataset version of a classifier (created if new)."""
    from textloop.data.datasets import check_mode, with_fixed_test_split
    from textloop.data.label_sets import Mode
    from textloop.data.readers import read_labelled_file
    from textloop.pipeline.ingestion import ingest_batch

    run = invocation(ctx)
    config = run.settings
    if label_separator is not None and not multi_label:
        fail("--label-separator applies to label sets only; add --multi-label")
    mode = Mode.MULTI_LABEL if multi_label else Mode.SINGLE_LABEL
    with run.store.session() as session:
        check_mode(session, classifier, mode)  # before a large file is read for nothing
    options, notes = read_options(delimiter, encoding, skip_bad_rows, file_format), Notes()
    options = label_set_options(options, multi_label, label_separator)
    table = read_labelled_file(file, text_column, label_column, split_column, options, notes)
    source = str(file)
    if test_file is not None:
        test_table = read_labelled_file(test_file, text_column, label_column, None, options, notes)
        table = with_fixed_test_split(table, test_table, config.split_fractions)
        source = f"{file} + test:{test_file}"
    notes.show()
    result = ingest_batch(
        run.store, config, classifier, table, source, mode=mode, new_labels=new_labels
    )
    audit_command(
        ctx, run.store, classifier, dataset_version=result.version, rows=result.rows, source=source
    )
    if as_json:
        emit_json(result.__dict__)
        return
    verb = "Created" if result.created else "Already had"
    splits = ", ".join(f"{name} {count:,}" for name, count in sorted(result.split_counts.items()))
    out.print(
        f"{verb} dataset version {result.version} of [bold]{classifier}[/]: "
        f"{result.rows:,} rows ({splits}), {len(result.labels)} labels"
    )
    if result.dropped:
        empty = "an empty text" if multi_label else "an empty text or label"
        err.print(f"dropped {result.dropped:,} rows with {empty}")
    if result.duplicates:
        err.print(
            f"skipped {result.duplicates:,} duplicate rows (text, label and every column the "
            "same as an earlier row): each is stored once"
        )


@app.command()
def stats(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    dataset_version: Annotated[
        int | None, typer.Option(help="Dataset version (default: the newest).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show the statistics and anomalies of a dataset version."""
    from textloop.data.statistics import TextStatistics
    from textloop.store.queries import get_classifier, resolve_dataset_version

    with invocation(ctx).store.session() as session:
        dataset = resolve_dataset_version(session, get_classifier(session, name), dataset_version)
        recorded = dataset.statistics
        if recorded is None:
            fail(f"dataset version {dataset.version} of {name!r} has no recorded statistics")
        summary = TextStatistics.from_dict(recorded).summary()
        anomalies = list(dataset.anomalies or [])
        version = dataset.version
    if as_json:
        emit_json({"dataset_version": version, "statistics": summary, "anomalies": anomalies})
        return
    print_statistics(name, version, summary)
    print_anomalies(anomalies)


def print_statistics(name: str, version: int, summary: dict[str, Any]) -> None:
    length = summary["length"]
    out.print(f"[bold]{name}[/] dataset version {version}")
    out.print(
        f"  rows {summary['rows']:,}  empty {summary['empty_texts']:,}  repeated texts "
        f"{summary['repeated_texts']:,} (of them {summary['duplicate_rows']:,} repeat text and "
        f"label: ingest stores those once)  texts with conflicting labels "
        f"{summary['conflicting_texts']:,}"
    )
    out.print(
        f"  length min {length['min']}  mean {length['mean']:.1f}  p50 {length['p50']}  "
        f"p90 {length['p90']}  p99 {length['p99']}  max {length['max']}"
    )
    out.print(
        f"  labels {summary['label_count']}  imbalance {summary['imbalance_ratio']:.2f}  "
        f"vocabulary ~{summary['vocabulary_size']:,}  non-ASCII {summary['non_ascii_share']:.1%}"
    )
    if summary.get("mode") == "multi-label":
        print_label_sets(summary)


def print_label_sets(summary: dict[str, Any]) -> None:
    """A multi-label version's figures per label name."""
    per_text = summary["labels_per_text"]
    spread = "  ".join(f"{size}: {n:,}" for size, n in per_text["distribution"].items())
    out.print(
        f"  labels per text mean {per_text['mean']:.2f}  max {per_text['max']}  ({spread})  "
        f"texts with none {summary['texts_without_labels']:,}  "
        f"distinct label sets {summary['label_sets']:,}",
        highlight=False,
    )
    counts = "  ".join(f"{name} {n:,}" for name, n in summary["labels"].items())
    out.print(f"  texts per label: {counts}", highlight=False, markup=False, soft_wrap=True)
    pairs = "  ".join(
        f"{' + '.join(pair['labels'])} {pair['texts']:,}" for pair in summary["co_occurrence"]
    )
    if pairs:
        out.print(f"  together most often: {pairs}", highlight=False, markup=False, soft_wrap=True)


def print_anomalies(anomalies: list[dict[str, Any]]) -> None:
    if not anomalies:
        out.print("  no anomalies")
    for anomaly in anomalies:
        colour = "red" if anomaly["severity"] == "error" else "yellow"
        out.print(
            f"  [{colour}]{anomaly['severity']}[/] {anomaly['kind']} ({anomaly['count']:,}): "
            f"{anomaly['message']}",
            highlight=False,
        )
        for example in anomaly["examples"]:
            out.print(f"      {example}", highlight=False, soft_wrap=True)


@app.command()
def validate(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(help="Classifier whose schema the file is checked against.")
    ],
    file: LabelledFile,
    text_column: TextColumn = "text",
    label_column: LabelColumn = "label",
    file_format: FileFormat = None,
    delimiter: Delimiter = None,
    encoding: Encoding = None,
    skip_bad_rows: SkipBadRows = False,
    label_separator: LabelSeparator = None,
    as_json: JsonFlag = False,
) -> None:
    """Check FILE against the classifier's schema without storing it; exit 1 on any error."""
    from textloop.data.label_sets import Mode
    from textloop.data.readers import read_labelled_file
    from textloop.data.schema import Schema
    from textloop.data.statistics import TextStatistics
    from textloop.data.validation import has_errors, validate_rows
    from textloop.store.queries import get_classifier

    with invocation(ctx).store.session() as session:
        checked = get_classifier(session, name)
        stored, multi_label = checked.data_schema, checked.mode == Mode.MULTI_LABEL
    if label_separator is not None and not multi_label:
        fail(f"--label-separator applies to label sets only; {name!r} is single-label")
    options, notes = read_options(delimiter, encoding, skip_bad_rows, file_format), Notes()
    options = label_set_options(options, multi_label, label_separator)
    table = read_labelled_file(file, text_column, label_column, None, options, notes)
    notes.show()
    rows = list(
        zip(table.column("text").to_pylist(), table.column("label").to_pylist(), strict=True)
    )
    inferred = TextStatistics.of(rows, multi_label=multi_label)
    schema = Schema.from_dict(stored) if stored else Schema.infer(inferred)
    found = validate_rows(rows, schema)
    anomalies = [anomaly.to_dict() for anomaly in found]
    failed = has_errors(found)
    if as_json:
        emit_json({"file": str(file), "rows": len(rows), "anomalies": anomalies, "ok": not failed})
    else:
        out.print(f"{file}: {len(rows):,} rows checked against the schema of [bold]{name}[/]")
        print_anomalies(anomalies)
    if failed:
        errors = sum(1 for anomaly in found if anomaly.severity == "error")
        err.print(f"validation failed: {errors} error-level anomalies in {file}")
        raise typer.Exit(1)
