"""Draws one recorded run (see ``metadata.runs.show_run``) as a Rich tree of its steps."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.tree import Tree

from textloop.cli.output import artifact_details

STATUS_STYLE = {"succeeded": "green", "cached": "cyan", "failed": "red", "running": "yellow"}


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
