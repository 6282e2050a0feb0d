"""``textloop lineage``: a prediction or batch job traced upstream to its model, run and data,
or a dataset version downstream, drawn as a Rich tree (see ``metadata.lineage``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.tree import Tree

from textloop.cli.context import JsonFlag, invocation
from textloop.cli.output import artifact_details, emit_json, fail, out

app = typer.Typer()


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

    if [prediction, dataset, batch_job].count(None) != 2:
        fail(
            "give exactly one of --prediction ID, --batch-job ID or --dataset N "
            "(with --classifier NAME)"
        )
    if dataset is not None and classifier is None:
        fail("--dataset needs --classifier NAME")
    with invocation(ctx).store.session() as session:
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
    out.print(render_lineage(graph))


def render_lineage(graph: dict[str, Any]) -> Tree:
    if "batch_job" in graph:
        job = graph["batch_job"]
        tree = Tree(escape(f"batch job {job['id']} ({job['classifier']}): {job['status']}"))
        tree.add(escape(f"input {job['input']} (sha256 {job['input_hash'][:16]})"))
        _model(tree, graph, "scored by model")
        _steps(tree.add("steps upstream, oldest first"), graph["upstream"], "inputs", "produced_by")
        return tree
    if "prediction" in graph:
        p = graph["prediction"]
        answer = p["label"] if "labels" not in p else "|".join(p["labels"]) or "(none)"
        if p.get("out_of_scope"):
            answer = f"(out of scope; nearest: {p['nearest_label']})"
        tree = Tree(
            escape(
                f"prediction {p['id']} ({p['classifier']}): {answer} "
                f"at {p['confidence']:.3f}, {p['created_at']}"
            )
        )
        node = _model(tree, graph, "model")
        _steps(node.add("steps upstream, oldest first"), graph["upstream"], "inputs", "produced_by")
        return tree
    tree = Tree(escape(f"dataset {graph['dataset']['uri']}"))
    for model in graph["models"]:
        blessed = "blessed" if model["blessed"] else "not blessed"
        tree.add(escape(f"trained model {model['uri']} ({model['family']}, {blessed})"))
    runs = ", ".join(f"{r['run']} ({r['pipeline']})" for r in graph["runs"])
    if runs:
        tree.add(escape(f"consumed by runs {runs}"))
    _steps(tree.add("steps downstream"), graph["downstream"], "outputs", "consumed_by")
    return tree


def _model(tree: Tree, graph: dict[str, Any], title: str) -> Tree:
    """The model behind a prediction or batch, the run that registered it and its data."""
    model, run = graph["model"], graph["run"]
    made = f", registered by run {run['run']} ({run['pipeline']})" if run else ""
    node = tree.add(escape(f"{title} {model['uri']} ({model['family']}){made}"))
    for dataset in graph["datasets"]:
        node.add(escape(f"trained on dataset {dataset['uri']}"))
    return node


def _steps(parent: Tree, steps: list[dict[str, Any]], items: str, onwards: str) -> None:
    """Every step of the nested graph once, oldest first: a flat list reads better than depth.

    Each artifact is written out (URI and details) at its first mention only; later steps that
    use it name its type and say it is above.
    """
    shown: set[str] = set()
    for step, artifacts in sorted(_flatten(steps, items, onwards).values(), key=_execution):
        outputs = "; ".join(_artifact(a, shown) for a in artifacts)
        parent.add(
            escape(
                f"run {step['run']} {step['component']} [{step['status']}]"
                + (f" {'→' if items == 'outputs' else '←'} {outputs}" if outputs else "")
            )
        )


def _artifact(artifact: dict[str, Any], shown: set[str]) -> str:
    properties = artifact["properties"]
    if artifact["type"] == "model" and properties.get("version") is None:
        return "no production model yet"  # the production importer found the alias unset
    if artifact["uri"] in shown:
        return f"{artifact['type']} (above)"
    shown.add(artifact["uri"])
    return f"{artifact['type']} {artifact['uri']}" + artifact_details(properties)


def _flatten(
    steps: list[dict[str, Any]], items: str, onwards: str
) -> dict[int, tuple[dict[str, Any], list[dict[str, Any]]]]:
    found: dict[int, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for step in steps:
        found[step["execution"]] = (step, step[items])
        for artifact in step[items]:
            found.update(_flatten(artifact[onwards], items, onwards))
    return found


def _execution(entry: tuple[dict[str, Any], list[dict[str, Any]]]) -> int:
    return int(entry[0]["execution"])
