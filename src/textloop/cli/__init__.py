"""The ``textloop`` command: the root app, its options, and one sub-app per area merged into it.

Each area module (``data``, ``training``, ``release``, ...) owns a ``typer.Typer()`` whose
commands and groups are registered here in one way, ``app.add_typer(area.app)`` without a name,
which Typer merges into the top level. Commands are thin wrappers: they parse flags, get what
they need from ``context.invocation``, call the services and print results. Every command takes
``--json`` for scripts; failures print one line on stderr and exit 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from textloop import __version__
from textloop.cli import (
    audit,
    batch,
    bench,
    bundles,
    data,
    demo,
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

app = typer.Typer(
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
    keys, users, data, training, runs, lineage, release, bundles, serving, bench, review, pool,
    loop, webhooks, monitor, batch, audit, demo,
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
