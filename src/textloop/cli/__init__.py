"""The ``textloop`` command: thin wrappers that parse flags, call the services and print results.

Every command takes ``--json`` for scripts; failures print one line on stderr and exit 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from textloop import __version__
from textloop.cli.audit import audit_command, register_audit_command
from textloop.cli.batch import register_batch_commands
from textloop.cli.bench import register_bench_command
from textloop.cli.context import JsonFlag, settings
from textloop.cli.evaluation import print_evaluation
from textloop.cli.keys import keys_app
from textloop.cli.loop import register_loop_commands
from textloop.cli.monitor import register_monitor_commands
from textloop.cli.output import RichProgress, emit_json, err, fail, out
from textloop.cli.reading import Delimiter, Encoding, Notes, SkipBadRows, read_options
from textloop.cli.review import register_review_commands
from textloop.cli.users import users_app
from textloop.errors import TextloopError

app = typer.Typer(
    help="Self-hosted text classification that keeps learning in production.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(keys_app, name="keys")
runs_app = typer.Typer(help="Recorded runs (ingest, train, deploy).", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(users_app, name="users")
pool_app = typer.Typer(help="Unlabelled texts and choosing which to review.", no_args_is_help=True)
app.add_typer(pool_app, name="pool")


def version_callback(value: bool) -> None:
    if value:
        out.print(f"textloop {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            envvar="TEXTLOOP_DATA_DIR",
            help="Where textloop keeps its database and artifacts (default: ./textloop-data).",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True)
    ] = False,
) -> None:
    """Self-hosted text classification that keeps learning in production."""


@app.command()
def init(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Create the data directory and database, and print a new admin API key (shown once)."""
    from textloop.security.api_keys import create_api_key
    from textloop.store import open_store

    config = settings(ctx)
    store = open_store(config)
    with store.session() as session:
        key = create_api_key(session, ["admin"], name="admin (init)")
        audit_command(ctx, session, f"key {key.id}", prefix=key.prefix, scopes=key.scopes)
    if as_json:
        emit_json({"api_key": key.key, "data_dir": str(config.data_dir)})
        return
    out.print(f"Initialised [bold]{config.data_dir}[/]")
    out.print("Admin API key (shown once, keep it safe):")
    out.print(key.key, highlight=False, soft_wrap=True)


@app.command()
def ingest(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="CSV, TSV, JSONL, Parquet or .xlsx file of labelled text.")
    ],
    classifier: Annotated[str, typer.Option("--classifier", "-c", help="Classifier name.")],
    text_column: Annotated[str, typer.Option(help="Column holding the text.")] = "text",
    label_column: Annotated[str, typer.Option(help="Column holding the label.")] = "label",
    split_column: Annotated[
        str | None, typer.Option(help="Optional column of train/validation/test assignments.")
    ] = None,
    test_file: Annotated[
        Path | None,
        typer.Option(help="A separate file whose rows form the test split (same columns)."),
    ] = None,
    delimiter: Delimiter = None,
    encoding: Encoding = None,
    skip_bad_rows: SkipBadRows = False,
    as_json: JsonFlag = False,
) -> None:
    """Store FILE as a new dataset version of a classifier (created if new)."""
    from textloop.data.datasets import with_fixed_test_split
    from textloop.data.readers import read_labelled_file
    from textloop.pipeline.ingestion import ingest_batch
    from textloop.store import open_store

    config = settings(ctx)
    options, notes = read_options(delimiter, encoding, skip_bad_rows), Notes()
    table = read_labelled_file(file, text_column, label_column, split_column, options, notes)
    source = str(file)
    if test_file is not None:
        test_table = read_labelled_file(test_file, text_column, label_column, None, options, notes)
        table = with_fixed_test_split(table, test_table, config.split_fractions)
        source = f"{file} + test:{test_file}"
    notes.show()
    store = open_store(config)
    result = ingest_batch(store, config, classifier, table, source)
    audit_command(
        ctx, store, classifier, dataset_version=result.version, rows=result.rows, source=source
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
        err.print(f"dropped {result.dropped:,} rows with an empty text or label")
    if result.duplicates:
        err.print(
            f"skipped {result.duplicates:,} duplicate rows (text, label and every column the "
            "same as an earlier row): each is stored once"
        )


@app.command()
def train(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="ngram, embedding, ensemble, majority, or auto (the best on validation).",
        ),
    ] = "auto",
    dataset_version: Annotated[
        int | None, typer.Option(help="Dataset version to train on (default: the newest).")
    ] = None,
    ignore_anomalies: Annotated[
        bool, typer.Option(help="Train even if the data has error-level anomalies.")
    ] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Run every step even if an identical one ran.")
    ] = False,
    backfill: Annotated[
        bool,
        typer.Option(
            help="Rerun over the existing dataset version from --from-step (default: train)."
        ),
    ] = False,
    from_step: Annotated[
        str | None,
        typer.Option(help="Run this step and everything after it again; earlier ones may cache."),
    ] = None,
    tune_trials: Annotated[
        int | None,
        typer.Option(help="Hyper-parameter trials beyond each family's defaults (default: 0)."),
    ] = None,
    tune_seconds: Annotated[
        float | None, typer.Option(help="Stop starting tuning trials after this many seconds.")
    ] = None,
    slice_column: Annotated[
        list[str] | None,
        typer.Option(
            help="Also report test metrics per value of this extra column (repeatable); stored "
            "as the classifier's setting, which later trains and retrains use by default."
        ),
    ] = None,
    all_classes: Annotated[
        bool, typer.Option("--all-classes", help="Print every class, not the worst 10.")
    ] = False,
    deploy: Annotated[
        bool,
        typer.Option(help="Make the new version production if blessed and infra-validated."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Run the training pipeline: validate, tune, train, evaluate, bless, infra-validate, push."""
    from textloop.pipeline.training import train_classifier
    from textloop.store import open_store

    config = settings(ctx)
    store = open_store(config)
    if backfill and from_step is None:
        from_step = "train"
    with RichProgress(enabled=not as_json) as progress:
        report = train_classifier(
            store,
            config,
            name,
            model,
            dataset_version,
            progress=progress,
            ignore_anomalies=ignore_anomalies,
            use_cache=not no_cache,
            from_step=from_step,
            tune_trials=config.tune_trials if tune_trials is None else tune_trials,
            tune_seconds=config.tune_seconds if tune_seconds is None else tune_seconds,
            slice_columns=tuple(slice_column) if slice_column else None,
            deploy=deploy,
        )
    audit_command(ctx, store, name, version=report.version, family=report.family, deploy=deploy)
    if as_json:
        emit_json(report.__dict__)
        return
    print_training_report(report, all_classes=all_classes)


def print_training_report(report: Any, all_classes: bool = False) -> None:
    steps = "  ".join(f"{step} {status}" for step, status in report.steps.items())
    out.print(f"run {report.run}: {steps}", highlight=False)
    for trial in report.tuning.get("trials", []):
        out.print(
            f"  tune {trial['family']:>10}: accuracy {trial['accuracy']:.4f}  "
            f"macro-F1 {trial['macro_f1']:.4f}  {trial['params']}",
            highlight=False,
            markup=False,
        )
    for family, scores in report.candidates.items():
        out.print(
            f"  validation {family:>10}: accuracy {scores['accuracy']:.4f}  "
            f"macro-F1 {scores['macro_f1']:.4f}"
        )
    test = report.test_metrics
    if report.cached:
        out.print(
            f"cached: every step of [bold]{report.classifier}[/] had run with these parameters "
            f"on this data; model version {report.version} stands (use --no-cache to rerun)"
        )
    out.print(
        f"Trained [bold]{report.classifier}[/] model version {report.version} "
        f"({report.family}, dataset version {report.dataset_version}) in {report.seconds:.1f}s"
    )
    if test.get("rows"):
        low, high = test["confidence_intervals"]["accuracy"]
        out.print(
            f"  test ({test['rows']:,} rows): accuracy {test['accuracy']:.4f} "
            f"(95% CI {low:.4f}-{high:.4f})  macro-F1 {test['macro_f1']:.4f}"
        )
        print_evaluation(test, all_classes=all_classes)
    verdict = report.blessing
    status = "[green]blessed[/]" if verdict.get("blessed") else "[red]NOT blessed[/]"
    out.print(f"  {status}: {'; '.join(verdict.get('reasons', []))}")
    if "ece_before" in report.calibration:
        out.print(
            f"  calibration error (ECE) {report.calibration['ece_before']:.4f} -> "
            f"{report.calibration['ece_after']:.4f} (temperature "
            f"{report.calibration['temperature']:.2f})"
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
    from textloop.store import open_store
    from textloop.store.queries import get_classifier, resolve_dataset_version

    store = open_store(settings(ctx))
    with store.session() as session:
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
    file: Annotated[
        Path, typer.Argument(help="CSV, TSV, JSONL, Parquet or .xlsx file of labelled text.")
    ],
    text_column: Annotated[str, typer.Option(help="Column holding the text.")] = "text",
    label_column: Annotated[str, typer.Option(help="Column holding the label.")] = "label",
    delimiter: Delimiter = None,
    encoding: Encoding = None,
    skip_bad_rows: SkipBadRows = False,
    as_json: JsonFlag = False,
) -> None:
    """Check FILE against the classifier's schema without storing it; exit 1 on any error."""
    from textloop.data.readers import read_labelled_file
    from textloop.data.schema import Schema
    from textloop.data.statistics import TextStatistics
    from textloop.data.validation import has_errors, validate_rows
    from textloop.store import open_store
    from textloop.store.queries import get_classifier

    options, notes = read_options(delimiter, encoding, skip_bad_rows), Notes()
    table = read_labelled_file(file, text_column, label_column, None, options, notes)
    notes.show()
    rows = list(
        zip(table.column("text").to_pylist(), table.column("label").to_pylist(), strict=True)
    )
    store = open_store(settings(ctx))
    with store.session() as session:
        stored = get_classifier(session, name).data_schema
    schema = Schema.from_dict(stored) if stored else Schema.infer(TextStatistics.of(rows))
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


@app.command()
def deploy(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    version: Annotated[
        int | None, typer.Option(help="Model version (default: the newest).")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Deploy even a version that was not blessed.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Point the classifier's production alias at a model version (blessed ones only)."""
    from textloop.registry.deployment import deploy_model
    from textloop.store import open_store

    config = settings(ctx)
    store = open_store(config)
    deployment = deploy_model(store, config.artifact_root, name, version, force=force)
    audit_command(
        ctx,
        store,
        name,
        version=deployment.version,
        previous_version=deployment.previous_version,
        force=force,
    )
    if as_json:
        emit_json(deployment.__dict__)
        return
    before = f" (was version {deployment.previous_version})" if deployment.previous_version else ""
    out.print(f"[bold]{name}[/] production is now model version {deployment.version}{before}")


@app.command()
def classify(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    text: Annotated[str, typer.Argument(help="Text to classify.")],
    as_json: JsonFlag = False,
) -> None:
    """Classify one text with the production model (recorded like an API prediction)."""
    from textloop.models.base import ModelResources
    from textloop.predict.classify import classify as run_classify
    from textloop.predict.model_cache import ModelCache
    from textloop.serving.schemas import MAX_TEXT_CHARS
    from textloop.store import open_store

    if not text.strip() or len(text) > MAX_TEXT_CHARS:
        fail(f"TEXT must be between 1 and {MAX_TEXT_CHARS} non-blank characters")
    config = settings(ctx)
    store = open_store(config)
    cache = ModelCache(config.artifact_root, ModelResources.for_settings(config))
    (result,) = run_classify(store, cache, name, [text])
    if as_json:
        emit_json(result.__dict__)
        return
    flag = "  [yellow](sent to review)[/]" if result.review else ""
    out.print(f"{result.label}  confidence {result.confidence:.3f}{flag}")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    with_worker: Annotated[
        bool, typer.Option(help="Also run queued jobs (retrains) in this process.")
    ] = False,
    workers: Annotated[
        int, typer.Option(help="Server processes sharing the port (one per core at most).")
    ] = 1,
    batch_wait_ms: Annotated[
        float | None,
        typer.Option(help="How long concurrent requests may be gathered into one model call."),
    ] = None,
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="Serve HTTPS with this PEM certificate (chain).")
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option(help="The certificate's PEM private key.")
    ] = None,
) -> None:
    """Serve the HTTP API and the review portal until interrupted."""
    from dataclasses import replace

    from textloop.serving.server import Tls, run_server

    config = settings(ctx)
    if batch_wait_ms is not None:
        if not 0 <= batch_wait_ms <= 100:
            fail(f"--batch-wait-ms must be between 0 and 100, got {batch_wait_ms}")
        config = replace(config, batch_wait_ms=batch_wait_ms)
    tls = Tls.from_options(ssl_certfile, ssl_keyfile)
    run_server(config, host, port, with_worker=with_worker, workers=workers, tls=tls)


@app.command()
def lineage(
    ctx: typer.Context,
    prediction: Annotated[
        str | None, typer.Option(help="Trace a prediction back to its model, run and data.")
    ] = None,
    dataset: Annotated[
        int | None, typer.Option(help="List everything downstream of this dataset version.")
    ] = None,
    classifier: Annotated[
        str | None, typer.Option("--classifier", "-c", help="Classifier of --dataset.")
    ] = None,
    batch_job: Annotated[
        str | None, typer.Option(help="Trace a batch job's output to its input, model and data.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Trace lineage: --prediction ID or --batch-job ID upstream, or --dataset N --classifier
    NAME downstream."""
    from textloop.metadata.lineage import batch_lineage, dataset_lineage, prediction_lineage
    from textloop.store import open_store

    if [prediction, dataset, batch_job].count(None) != 2:
        fail(
            "give exactly one of --prediction ID, --batch-job ID or --dataset N "
            "(with --classifier NAME)"
        )
    if dataset is not None and classifier is None:
        fail("--dataset needs --classifier NAME")
    store = open_store(settings(ctx))
    with store.session() as session:
        if prediction is not None:
            graph = prediction_lineage(session, prediction)
        elif batch_job is not None:
            graph = batch_lineage(session, batch_job)
        else:
            assert classifier is not None and dataset is not None
            graph = dataset_lineage(session, classifier, dataset)
    if as_json:
        emit_json(graph)
        return
    from textloop.cli.lineage import render_lineage

    out.print(render_lineage(graph))


@runs_app.command("list")
def runs_list(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    limit: Annotated[int, typer.Option(help="How many of the newest runs.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """The newest runs of a classifier, newest first."""
    from textloop.metadata.runs import list_runs
    from textloop.store import open_store

    store = open_store(settings(ctx))
    with store.session() as session:
        runs = list_runs(session, name, limit)
    if as_json:
        emit_json(runs)
        return
    for run in runs:
        took = f"{run['seconds']:.1f}s" if run["seconds"] is not None else "-"
        cached = f"  {run['cached_steps']} cached" if run["cached_steps"] else ""
        out.print(
            f"{run['run']:>6}  {run['pipeline']:<8} {run['status']:<10} {run['started_at']}  "
            f"{took}{cached}",
            highlight=False,
        )


@runs_app.command("show")
def runs_show(
    ctx: typer.Context,
    run_id: Annotated[int, typer.Argument(help="Run number, from `textloop runs list`.")],
    as_json: JsonFlag = False,
) -> None:
    """One run as its DAG: each step's status, time, upstream steps and outputs."""
    from textloop.cli.runs import render_run
    from textloop.metadata.runs import show_run
    from textloop.store import open_store

    store = open_store(settings(ctx))
    with store.session() as session:
        run = show_run(session, run_id)
    if as_json:
        emit_json(run)
        return
    out.print(render_run(run))


@pool_app.command("add")
def pool_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    file: Annotated[Path, typer.Argument(help="CSV, TSV, JSONL, Parquet or .xlsx file of texts.")],
    text_column: Annotated[str, typer.Option(help="Column holding the text.")] = "text",
    delimiter: Delimiter = None,
    encoding: Encoding = None,
    skip_bad_rows: SkipBadRows = False,
    as_json: JsonFlag = False,
) -> None:
    """Add the texts of FILE to the classifier's unlabelled pool (each text once)."""
    from textloop.data.readers import read_text_file
    from textloop.review.pool import add_to_pool
    from textloop.store import open_store

    notes = Notes()
    texts = read_text_file(
        file, text_column, read_options(delimiter, encoding, skip_bad_rows), notes
    )
    notes.show()
    with open_store(settings(ctx)).session() as session:
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
    from textloop.models.base import ModelResources
    from textloop.predict.model_cache import ModelCache
    from textloop.review.pool import sample_pool
    from textloop.store import open_store

    config = settings(ctx)
    cache = ModelCache(config.artifact_root, ModelResources.for_settings(config))
    store = open_store(config)
    tasks = sample_pool(store, cache, name, n, strategy, seed)
    audit_command(ctx, store, name, tasks=len(tasks), strategy=strategy)
    chosen: list[dict[str, Any]] = [
        {
            "task": t.id,
            "text": t.text,
            "suggested_label": t.suggested_label,
            "confidence": t.confidence,
        }
        for t in tasks
    ]
    if as_json:
        emit_json(chosen)
        return
    out.print(f"Sent {len(chosen):,} pool texts of {name} to review ({strategy})", highlight=False)
    for item in chosen[:10]:
        out.print(
            f"  {item['confidence']:.2f} {item['suggested_label']}: {item['text'][:70]}",
            highlight=False,
            markup=False,
        )


@app.command("review-check")
def review_check(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    family: Annotated[str, typer.Option(help="Model family that scores the labels.")] = "ngram",
    as_json: JsonFlag = False,
) -> None:
    """Send agreed review labels that look wrong to a second review (confident learning)."""
    from textloop.review.label_quality import check_reviewed_labels
    from textloop.store import open_store

    store = open_store(settings(ctx))
    result = check_reviewed_labels(store, name, family)
    audit_command(ctx, store, name, checked=result.checked, flagged=len(result.flagged))
    if as_json:
        emit_json({"checked": result.checked, "flagged": result.flagged})
        return
    out.print(
        f"Checked {result.checked:,} reviewed labels of {name}; "
        f"{len(result.flagged):,} sent to a second review",
        highlight=False,
    )


@app.command()
def demo(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API when ready.")
    ] = True,
) -> None:
    """Ingest the bundled Banking77 data, train, deploy, print a curl command and serve."""
    from textloop.demo import run_demo

    run_demo(settings(ctx), host, port, serve_after)


register_loop_commands(app)
register_review_commands(app)
register_audit_command(app)
register_monitor_commands(app)
register_bench_command(app)
register_batch_commands(app)


def main() -> None:
    try:
        app()
    except TextloopError as exc:
        fail(exc.message)
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(130) from None
