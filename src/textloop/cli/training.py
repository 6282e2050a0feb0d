"""``textloop train``: the training pipeline from the command line, with progress bars on stderr
and the report (steps, tuning, candidates, test metrics, blessing) on stdout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from textloop.cli.audit import audit_command
from textloop.cli.context import JsonFlag, invocation, setting_option
from textloop.cli.evaluation import print_evaluation
from textloop.cli.output import RichProgress, emit_json, out

app = typer.Typer()


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
    tune_trials: Annotated[int | None, setting_option("tune_trials")] = None,
    tune_seconds: Annotated[float | None, setting_option("tune_seconds")] = None,
    finetune_seconds: Annotated[float | None, setting_option("finetune_seconds")] = None,
    cascade_max_drop: Annotated[float | None, setting_option("cascade_max_drop")] = None,
    out_of_scope_recall: Annotated[float | None, setting_option("out_of_scope_recall")] = None,
    out_of_scope_label: Annotated[
        str | None,
        typer.Option(
            help="The label the data marks texts that fit no label with (e.g. oos): answered as "
            "out of scope; stored as the classifier's setting ('' clears it)."
        ),
    ] = None,
    out_of_scope_test: Annotated[
        Path | None,
        typer.Option(
            help="A file of texts that fit none of the labels (a 'text' column): the test "
            "report gains out-of-scope recall, precision and AUROC.",
            exists=True,
            dir_okay=False,
        ),
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

    run = invocation(
        ctx,
        tune_trials=tune_trials,
        tune_seconds=tune_seconds,
        finetune_seconds=finetune_seconds,
        cascade_max_drop=cascade_max_drop,
        out_of_scope_recall=out_of_scope_recall,
    )
    config, store = run.settings, run.store
    outside = _texts(out_of_scope_test) if out_of_scope_test is not None else []
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
            slice_columns=tuple(slice_column) if slice_column else None,
            deploy=deploy,
            out_of_scope_label=out_of_scope_label,
            out_of_scope_test=outside,
        )
    audit_command(ctx, store, name, version=report.version, family=report.family, deploy=deploy)
    if as_json:
        emit_json(report.__dict__)
        return
    print_training_report(report, all_classes=all_classes)


def _texts(path: Path) -> list[str]:
    """The texts of an out-of-scope test file, its empty cells left out."""
    from textloop.data.readers import read_text_file
    from textloop.errors import DataError

    texts = [text for text in read_text_file(path) if text and text.strip()]
    if not texts:
        raise DataError(f"{path}: no text to test out-of-scope detection on")
    return texts


def print_training_report(report: Any, all_classes: bool = False) -> None:
    steps = "  ".join(f"{step} {status}" for step, status in report.steps.items())
    out.print(f"run {report.run}: {steps}", highlight=False)
    for trial in report.tuning.get("trials", []):
        out.print(
            f"  tune {trial['family']:>10}: {_scores(trial)}  {trial['params']}",
            highlight=False,
            markup=False,
        )
    for family, scores in report.candidates.items():
        out.print(f"  validation {family:>10}: {_scores(scores)}")
    for family, why in report.skipped.items():
        out.print(f"  left out {family:>10}: {why}", highlight=False)
    for family, fit in report.fit_reports.items():
        gain = fit.get("validation_gain")
        budget = ", stopped by its time budget" if fit.get("stopped_by_budget") else ""
        versus = f"; {gain['accuracy']:+.4f} on validation over {gain['over']}" if gain else ""
        out.print(
            f"  {family}: encoder fine-tuned in {fit['seconds']:.0f}s ({fit['steps']} steps on "
            f"{fit['device']}{budget}){versus}",
            highlight=False,
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
    if test.get("rows") and test.get("headline") == "micro_f1":
        low, high = test["confidence_intervals"]["micro_f1"]
        out.print(
            f"  test ({test['rows']:,} rows): micro-F1 {test['micro_f1']:.4f} "
            f"(95% CI {low:.4f}-{high:.4f})  macro-F1 {test['macro_f1']:.4f}  subset accuracy "
            f"{test['subset_accuracy']:.4f}  Hamming loss {test['hamming_loss']:.4f}"
        )
        print_evaluation(test, all_classes=all_classes)
    elif test.get("rows"):
        low, high = test["confidence_intervals"]["accuracy"]
        out.print(
            f"  test ({test['rows']:,} rows): accuracy {test['accuracy']:.4f} "
            f"(95% CI {low:.4f}-{high:.4f})  macro-F1 {test['macro_f1']:.4f}"
        )
        print_evaluation(test, all_classes=all_classes)
    verdict = report.blessing
    status = "[green]blessed[/]" if verdict.get("blessed") else "[red]NOT blessed[/]"
    out.print(f"  {status}: {'; '.join(verdict.get('reasons', []))}")
    calibration = report.calibration
    how = (
        "Platt scaling per label"
        if "thresholds" in calibration
        else f"temperature {calibration['temperature']:.2f}"
        if "temperature" in calibration
        else "no validation rows to calibrate on"
    )
    if "ece_before" in calibration:
        per_label = ", mean per label" if test.get("headline") == "micro_f1" else ""
        out.print(
            f"  calibration error (ECE{per_label}) {calibration['ece_before']:.4f} -> "
            f"{calibration['ece_after']:.4f} ({how})"
        )
    if "thresholds" in calibration:
        thresholds = ", ".join(f"{k} {v:.2f}" for k, v in calibration["thresholds"].items())
        out.print(f"  decision thresholds: {thresholds}", highlight=False, markup=False)
    print_cascade(report)
    print_out_of_scope(report)


def _scores(scores: dict[str, float]) -> str:
    """A candidate's validation numbers: accuracy, or micro-F1 for label sets; and macro-F1."""
    if "micro_f1" in scores:
        return (
            f"micro-F1 {scores['micro_f1']:.4f}  macro-F1 {scores['macro_f1']:.4f}  "
            f"subset accuracy {scores['subset_accuracy']:.4f}"
        )
    return f"accuracy {scores['accuracy']:.4f}  macro-F1 {scores['macro_f1']:.4f}"


def print_cascade(report: Any) -> None:
    chosen, tested = report.cascade, report.calibration.get("cascade")
    if not chosen:
        return
    if not chosen.get("used", True):
        why = chosen.get("why") or f"{chosen['first']} is never sure enough to answer alone"
        out.print(f"  no cascade: {why}")
        return
    line = (
        f"  cascade: {chosen['first']} answers first when its confidence is at least "
        f"{chosen['threshold']:.3f}"
    )
    if tested:
        metric = "micro_f1" if "micro_f1" in tested else "accuracy"  # label sets: micro-F1
        line += (
            f": {tested['answered_early']:.1%} of test texts, {metric.replace('_f1', '-F1')} "
            f"{tested[metric]:.4f} ({tested[metric + '_without']:.4f} without)"
        )
    out.print(line, highlight=False)


def print_out_of_scope(report: Any) -> None:
    """What the out-of-scope detector was fitted for, and what it costs on the test split."""
    learned, tested = report.out_of_scope, report.test_metrics.get("out_of_scope")
    if not learned:
        return
    signs = " and ".join(
        {"probability": "the best probability", "nearest": "the nearest training text"}[sign]
        for sign in learned["signs"]
    )
    line = (
        f"  out of scope: from {signs}, keeping {learned['recall']:.0%} of validation texts"
        if signs
        else "  out of scope"
    )
    if learned.get("label"):
        line += f"; the label {learned['label']!r} answers out of scope"
    if tested:
        line += (
            f"; test: {tested['in_scope_kept']:.1%} kept in scope, accuracy "
            f"{tested['in_scope_accuracy']:.4f} counting those sent aside as wrong"
        )
        if "out_of_scope_recall" in tested:
            line += (
                f"; of {tested['out_of_scope_texts']:,} out-of-scope texts, recall "
                f"{tested['out_of_scope_recall']:.4f}, precision "
                f"{tested['out_of_scope_precision']:.4f}"
            )
            if "auroc" in tested:
                line += f", AUROC {tested['auroc']:.4f}"
    out.print(line, highlight=False)
