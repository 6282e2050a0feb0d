"""Models that leave textloop and come back: ``textloop export`` writes a version as a portable
bundle that runs with numpy, onnxruntime and tokenizers alone; ``textloop import`` registers a
bundle as a new version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from textloop.cli.context import JsonFlag, invocation
from textloop.cli.output import emit_json, out

app = typer.Typer()
VersionFlag = Annotated[
    int | None, typer.Option(help="Model version (default: production, else the newest).")
]


@app.command("export")
def export_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    out_path: Annotated[
        Path,
        typer.Option(
            "--out", help="A new folder, or a file ending .tar.gz, to write the bundle to."
        ),
    ],
    version: VersionFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Write a model version as a portable bundle: run it with `python predict.py TEXT...`."""
    from textloop.bundles.export import export_bundle, locate

    run = invocation(ctx)
    with run.store.session() as session:
        found = locate(session, name, version)
    bundle = export_bundle(run.settings, found, out_path)
    if as_json:
        emit_json(bundle.as_dict())
        return
    out.print(
        f"wrote {name} version {bundle.version} ({bundle.family}) to {bundle.path}: "
        f"{bundle.files} files, {bundle.bytes / 2**20:.1f} MiB; predict.py agrees with the "
        f"model to {bundle.max_difference:.1e}"
    )


@app.command("import")
def import_command(
    ctx: typer.Context,
    bundle: Annotated[Path, typer.Argument(help="A bundle folder or .tar.gz from export.")],
    classifier: Annotated[
        str | None,
        typer.Option(
            "--classifier", "-c", help="Register under this classifier (default: the bundle's)."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register a bundle as the next version of a classifier (deploy it as any other)."""
    from textloop.bundles.importing import import_bundle

    run = invocation(ctx)
    imported = import_bundle(run.store, run.settings, bundle, classifier)
    if as_json:
        emit_json(
            {
                "classifier": imported.classifier,
                "version": imported.version,
                "family": imported.family,
                "imported_from": imported.source,
            }
        )
        return
    out.print(
        f"registered {imported.classifier} version {imported.version} ({imported.family}) from "
        f"{imported.source['classifier']} version {imported.source['version']}; deploy it with "
        f"`textloop deploy {imported.classifier} --version {imported.version}`"
    )


@app.command("export-mlflow")
def export_mlflow_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    tracking_uri: Annotated[
        str, typer.Option(help="The MLflow tracking server (http://..., file:..., databricks).")
    ],
    version: VersionFlag = None,
    experiment: Annotated[str, typer.Option(help="The MLflow experiment of the run.")] = (
        "textloop"
    ),
    registered_name: Annotated[
        str | None,
        typer.Option(help="The MLflow registered model (default: textloop-NAME)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Log a model version's run to MLflow and register its bundle as a pyfunc model."""
    from textloop.bundles.export import locate
    from textloop.bundles.mlflow_export import export_to_mlflow

    run = invocation(ctx)
    with run.store.session() as session:
        found = locate(session, name, version)
    logged = export_to_mlflow(run.settings, found, tracking_uri, experiment, registered_name)
    if as_json:
        emit_json(logged.__dict__)
        return
    out.print(
        f"logged {name} version {found.version} as MLflow run {logged.run_id}; registered "
        f"{logged.registered_name} version {logged.registered_version} ({logged.model_uri})"
    )
