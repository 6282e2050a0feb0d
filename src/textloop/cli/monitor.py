"""``textloop drift``: show or change how a classifier's live traffic is watched for drift."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from textloop.cli.context import JsonFlag, settings
from textloop.cli.output import emit_json, out
from textloop.errors import InvalidRequest


def register_monitor_commands(app: typer.Typer) -> None:
    app.command()(drift)


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
    from textloop.store import open_store

    changed = dict(_threshold(item) for item in threshold or [])
    store = open_store(settings(ctx))
    with store.session() as session:
        configure_drift(session, name, window, changed)
        session.commit()
    if check:
        check_drift(store, settings(ctx), name, {"force": True})
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
