"""``textloop runs``: the recorded runs of a classifier (ingest, train, deploy), newest first,
and one run drawn as a Rich tree of its steps (see ``metadata.runs.show_run``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.tree import Tree

from textloop.cli.context import JsonFlag, invocation
from textloop.cli.output import artifact_details, emit_json, out

STATUS_STYLE = {"succeeded": "green", "cached": "cyan", "failed": "red", "running": "yellow"}

app = typer.Typer()
runs_app = typer.Typer(help="Recorded runs (ingest, train, deploy).", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@runs_app.command("list")
def runs_list(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    limit: Annotated[int, typer.Option(help="How many of the newest runs.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """The newest runs of a classifier, newest first."""
    from textloop.metadata.runs import list_runs

    with invocation(ctx).store.session() as session:
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
    from textloop.metadata.runs import show_run

    with invocation(ctx).store.session() as session:
        run = show_run(session, run_id)
    if as_json:
        emit_json(run)
        return
    out.print(render_run(run))


def render_run(run: dict[str, Any]) -> Tree:
    took = f" in {run['seconds']:.1f}s" if run["seconds"] is not None else ""
    tree = Tree(
        f"run {run['run']}: {escape(run['pipeline'])} of {escape(str(run['classifier']))} "
        f"[{_style(run['status'])}]{run['status']}[/]{took}"
    )
    if run["error"]:
        tree.add(f"[red]error:[/] {escape(run['error'])}")
    for step in run["steps"]:
        after = f" ← {', '.join(step['after'])}" if step["after"] else ""
        seconds = f" {step['seconds']:.2f}s" if step["seconds"] is not None else ""
        node = tree.add(
            f"[bold]{escape(step['step'])}[/]{escape(after)}  "
            f"[{_style(step['status'])}]{step['status']}[/]{seconds}"
        )
        if step["error"]:
            node.add(f"[red]error:[/] {escape(step['error'])}")
        for artifact in step["outputs"]:
            details = artifact_details(artifact["properties"])
            node.add(escape(f"→ {artifact['type']} {artifact['uri']}{details}"))
    return tree


def _style(status: str) -> str:
    return STATUS_STYLE.get(status, "white")
