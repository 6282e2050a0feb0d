"""Draws a lineage graph (see ``metadata.lineage``) as a Rich tree for people."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.tree import Tree


def render_lineage(graph: dict[str, Any]) -> Tree:
    if "prediction" in graph:
        p, model = graph["prediction"], graph["model"]
        tree = Tree(
            escape(
                f"prediction {p['id']} ({p['classifier']}): {p['label']} "
                f"at {p['confidence']:.3f}, {p['created_at']}"
            )
        )
        node = tree.add(escape(f"model {model['uri']} ({model['family']})"))
        _runs(node, graph["upstream"], "inputs", "produced_by")
        return tree
    tree = Tree(escape(f"dataset {graph['dataset']['uri']}"))
    _runs(tree, graph["downstream"], "outputs", "consumed_by")
    return tree


def _runs(parent: Tree, runs: list[dict[str, Any]], items: str, onwards: str) -> None:
    for run in runs:
        params = ", ".join(f"{k}={v}" for k, v in run["parameters"].items() if v is not None)
        node = parent.add(
            escape(
                f"run {run['run']}: {run['component']} [{run['status']}] "
                f"{run['started_at']} ({params})"
            )
        )
        for artifact in run[items]:
            details = ", ".join(
                f"{k}={v}" for k, v in artifact["properties"].items() if not isinstance(v, dict)
            )
            child = node.add(
                f"{artifact['type']} {artifact['uri']}" + (f" ({details})" if details else "")
            )
            _runs(child, artifact[onwards], items, onwards)
