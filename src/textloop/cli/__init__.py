"""The ``textloop`` command: the root app, its options, and one sub-app per area merged into it.

Each area module (``data``, ``training``, ``release``, ...) owns a ``typer.Typer()`` whose
commands and groups are registered here in one way, ``app.add_typer(area.app)`` without a name,
which Typer merges into the top level. Commands are thin wrappers: they parse flags, get what
they need from ``context.invocation``, call the services and print results. Every command takes
``--json`` for scripts; failures print one line on stderr and exit 1. A command that moved keeps
its old name for a release (an area's ``RENAMED``), read by the root group as the new one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperGroup

from textloop import __version__
from textloop.cli import (
    audit,
    batch,
    bench,
    bundles,
    data,
    demo,
    discover,
    keys,
    lineage,
    loop,
    monitor,
    pool,
    release,
    review,
    runs,
    serving,
    training,
    users,
    webhooks,
)
from textloop.cli.context import setting_option
from textloop.cli.output import err, fail, out
from textloop.errors import TextloopError

if TYPE_CHECKING:
    # Typer runs on its own copy of Click, and types TyperGroup's methods with it.
    from typer._click import Command, Context

# Every old command name, and the words that name the command now.
RENAMED: dict[str, tuple[str, ...]] = {**review.RENAMED}


class Root(TyperGroup):
    """The ``textloop`` group, which also answers to old command names.

    An old name is read as the words of the new one before the command is looked up, so it runs,
    parses its flags and is audited exactly as the new name would be; one line on stderr says
    what to type instead. Old names are not commands of the group, so ``--help`` and the docs
    show only the new ones.
    """

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        if args and args[0] in RENAMED:
            now = " ".join(RENAMED[args[0]])
            err.print(
                f"textloop {args[0]} is now textloop {now}; the old name goes in a later release",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
            args = [*RENAMED[args[0]], *args[1:]]
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=Root,
    help="Self-hosted text classification that keeps learning in production.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def version_callback(value: bool) -> None:
    if value:
        out.print(f"textloop {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    data_dir: Annotated[Path | None, setting_option("data_dir")] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True)
    ] = False,
) -> None:
    """Self-hosted text classification that keeps learning in production."""


# In the order `textloop --help` lists their commands: access, data, training and its record,
# releases, serving, review, the continuous loop, watching production, batch work, the audit log.
AREAS = (
    keys, users, data, training, runs, lineage, release, bundles, serving, bench, review, discover,
    pool, loop, webhooks, monitor, batch, audit, demo,
)  # fmt: skip
for area in AREAS:
    app.add_typer(area.app)


def main() -> None:
    try:
        app()
    except TextloopError as exc:
        fail(exc.for_cli())
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(130) from None
