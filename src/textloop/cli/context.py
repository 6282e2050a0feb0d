"""What every command shares: the ``--json`` flag and the settings of this invocation."""

from __future__ import annotations

from typing import Annotated

import typer

from textloop.config import Settings

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document for scripts.")]


def settings(ctx: typer.Context) -> Settings:
    """Settings for this invocation, from the root ``--data-dir`` and the environment."""
    return Settings.load(data_dir=ctx.find_root().params.get("data_dir"))
