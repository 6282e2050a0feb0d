"""Which model version serves: ``textloop deploy`` points production at a blessed version and
``rollback`` points it back at the one it served before."""

from __future__ import annotations

from typing import Annotated

import typer

from textloop.cli.audit import audit_command
from textloop.cli.context import JsonFlag, invocation
from textloop.cli.output import emit_json, out

app = typer.Typer()


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
    from textloop.release.deploy import deploy_model

    run = invocation(ctx)
    deployment = deploy_model(run.store, run.settings.artifact_root, name, version, force=force)
    audit_command(
        ctx,
        run.store,
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
def rollback(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    as_json: JsonFlag = False,
) -> None:
    """Point production back at the version it served before the current one."""
    from textloop.release.rollback import rollback as roll_back

    store = invocation(ctx).store
    moved = roll_back(store, name)
    audit_command(ctx, store, name, version=moved.version, previous_version=moved.previous_version)
    if as_json:
        emit_json(moved.__dict__)
        return
    out.print(
        f"[bold]{name}[/] production is back on model version {moved.version} "
        f"(was version {moved.previous_version})"
    )
