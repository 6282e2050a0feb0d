"""Which model version serves: ``textloop deploy`` points production at a blessed version (or
staging at one to try), ``promote`` moves what staging holds to production through the same
gates, and ``rollback`` points production back at the one it served before."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from textloop.cli.audit import audit_command
from textloop.cli.context import JsonFlag, invocation
from textloop.cli.output import emit_json, out

if TYPE_CHECKING:
    from textloop.registry.aliases import AliasMove

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
    alias: Annotated[
        str, typer.Option(help="production, or staging to try the version before promoting it.")
    ] = "production",
    as_json: JsonFlag = False,
) -> None:
    """Point the classifier's production alias at a model version (blessed ones only)."""
    from textloop.release.deploy import deploy_model

    run = invocation(ctx)
    deployment = deploy_model(run.store, run.settings, name, version, force=force, alias=alias)
    audit_command(
        ctx,
        run.store,
        name,
        alias=alias,
        version=deployment.version,
        previous_version=deployment.previous_version,
        force=force,
    )
    _report(name, deployment, as_json)


@app.command()
def promote(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    source: Annotated[str, typer.Option("--from", help="The stage to take the version from.")] = (
        "staging"
    ),
    target: Annotated[str, typer.Option("--to", help="The stage to deploy it to.")] = "production",
    force: Annotated[
        bool, typer.Option(help="Promote even a version that was not blessed.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Deploy the version one stage holds to another, through the same gates as deploy."""
    from textloop.release.promote import promote as promote_alias

    run = invocation(ctx)
    moved = promote_alias(run.store, run.settings, name, source, target, force)
    audit_command(
        ctx,
        run.store,
        name,
        source=source,
        to=target,
        version=moved.version,
        previous_version=moved.previous_version,
        force=force,
    )
    _report(name, moved, as_json)


def _report(name: str, moved: AliasMove, as_json: bool) -> None:
    if as_json:
        emit_json(moved.__dict__)
        return
    before = f" (was version {moved.previous_version})" if moved.previous_version else ""
    out.print(f"[bold]{name}[/] {moved.alias} is now model version {moved.version}{before}")


@app.command()
def rollback(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    as_json: JsonFlag = False,
) -> None:
    """Point production back at the version it served before the current one."""
    from textloop.release.rollback import rollback as roll_back

    store = invocation(ctx).store
    moved = roll_back(store, invocation(ctx).settings, name)
    audit_command(ctx, store, name, version=moved.version, previous_version=moved.previous_version)
    if as_json:
        emit_json(moved.__dict__)
        return
    out.print(
        f"[bold]{name}[/] production is back on model version {moved.version} "
        f"(was version {moved.previous_version})"
    )
