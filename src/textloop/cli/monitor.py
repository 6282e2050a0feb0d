"""Watching production from the CLI: ``textloop drift`` (reports and settings) and
``textloop shadow`` (a candidate scoring live traffic beside production)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from textloop.cli.audit import audit_command
from textloop.cli.context import JsonFlag, invocation
from textloop.cli.output import emit_json, out
from textloop.errors import InvalidRequest

app = typer.Typer()


@app.command()
def drift(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    window: Annotated[
        int | None, typer.Option(help="Predictions per check (50-100,000; default 500).")
    ] = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option(help="MEASURE=VALUE, repeatable: when a measure counts as drift."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Check the newest window now, full or not.")
    ] = False,
    limit: Annotated[int, typer.Option(help="How many of the newest reports.")] = 10,
    as_json: JsonFlag = False,
) -> None:
    """Drift reports of a classifier's production traffic against its held-out rows."""
    from textloop.monitoring.drift import check_drift, configure_drift, drift_summary

    changed = dict(_threshold(item) for item in threshold or [])
    run = invocation(ctx)
    store = run.store
    with store.session() as session:
        configure_drift(session, name, window, changed)
        if window is not None or changed or check:
            audit_command(ctx, session, name, window=window, thresholds=changed, check=check)
    if check:
        result = check_drift(store, run.settings, name, {"force": True})
        if "skipped" in result:
            raise InvalidRequest(f"{name}: no drift check: {result['skipped']}", field="check")
    with store.session() as session:
        summary = drift_summary(session, name, limit)
    if as_json:
        emit_json(summary)
        return
    limits = ", ".join(f"{k} {v:g}" for k, v in summary["thresholds"].items())
    out.print(f"{name}: window {summary['window']} predictions; thresholds {limits}")
    if not summary["reports"]:
        out.print("no reports yet: a check runs when a window of predictions is full")
        return
    newest = summary["reports"][0]
    out.print(
        f"newest report {newest['id']}: model version {newest['model_version']}, "
        f"{newest['window_size']} predictions up to {newest['window_end'][:19]}",
        highlight=False,
    )
    table = Table("measure", "value", "threshold", "drift")
    for measure, value in newest["measures"].items():
        limit = summary["thresholds"].get(measure)
        breached = measure in newest["breached"]
        table.add_row(
            measure,
            f"{value:g}",
            "" if limit is None else f"{limit:g}",
            "[red]yes[/red]" if breached else ("no" if limit is not None else ""),
        )
    out.print(table)
    for report in summary["reports"][1:]:
        verdict = "drift: " + ", ".join(report["breached"]) if report["drifted"] else "no drift"
        out.print(
            f"report {report['id']} (version {report['model_version']}, "
            f"up to {report['window_end'][:19]}): {verdict}",
            highlight=False,
        )


def _threshold(item: str) -> tuple[str, float]:
    measure, _, value = item.partition("=")
    try:
        return measure.strip(), float(value)
    except ValueError:
        raise InvalidRequest(
            f"--threshold takes MEASURE=VALUE, like embedding_auc=0.8, not {item!r}",
            field="threshold",
        ) from None


@app.command()
def shadow(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    version: Annotated[
        int | None, typer.Argument(help="Model version to shadow production with.")
    ] = None,
    off: Annotated[bool, typer.Option("--off", help="Stop shadowing.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Show how the shadow model agrees with production, or choose or stop the shadow."""
    from textloop.monitoring.shadow import shadow_report
    from textloop.registry.aliases import clear_shadow, set_shadow

    store = invocation(ctx).store
    with store.session() as session:
        if off:
            clear_shadow(session, name)
        elif version is not None:
            set_shadow(session, name, version)
        if off or version is not None:
            audit_command(ctx, session, name, version=None if off else version)
    with store.session() as session:
        report = shadow_report(session, name)
    if as_json:
        emit_json(report)
        return
    if report["shadow_version"] is None:
        out.print(f"{name}: no shadow model; `textloop shadow {name} VERSION` sets one")
        return
    agreement = report["agreement"]
    out.print(
        f"{name}: version {report['shadow_version']} shadows production version "
        f"{report['production_version']}; agreed on "
        + (
            f"{agreement:.1%} of {report['scored']:,} requests"
            if agreement is not None
            else "no requests yet"
        ),
        highlight=False,
    )
    if report["reviewed"]:
        out.print(
            f"on {report['reviewed']:,} of them reviewers have labelled since: shadow right "
            f"{report['shadow_accuracy_on_reviewed']:.1%}, production right "
            f"{report['production_accuracy_on_reviewed']:.1%}",
            highlight=False,
        )
