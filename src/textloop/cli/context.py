"""What every command shares: the ``--json`` flag, the flags that set a setting, and
``invocation``, the one way a command gets its settings, store, model cache or runtime.

Each piece is built on first use, so ``--help`` and a command that needs only its settings never
open the database or import the model code; nothing here is global between invocations.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any

import typer

from textloop.artifacts import artifacts_for
from textloop.config import BY_NAME, Settings

if TYPE_CHECKING:
    from textloop.predict.model_cache import ModelCache
    from textloop.serving.runtime import Runtime
    from textloop.store import Store

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document for scripts.")]


def setting_option(name: str) -> Any:
    """The ``typer.Option`` of the flag that sets setting ``name``, as ``config.SETTINGS`` has
    it (option name and help), for ``Annotated[<type> | None, setting_option(name)] = None``."""
    flag = BY_NAME[name].flag
    assert flag is not None, f"setting {name} has no flag"
    envvar = BY_NAME[name].env if flag.show_envvar else None
    return typer.Option(flag.option, envvar=envvar, help=flag.help)


class Invocation:
    """One run of one command: its settings (the root ``--data-dir``, the environment, the TOML
    file, then the command's own setting flags) and what it builds from them, once each."""

    def __init__(self, ctx: typer.Context, flags: dict[str, Any]) -> None:
        self._ctx = ctx
        self._flags = flags

    @cached_property
    def settings(self) -> Settings:
        data_dir = self._ctx.find_root().params.get("data_dir")
        return Settings.load(data_dir=data_dir).with_flags(**self._flags)

    @cached_property
    def store(self) -> Store:
        """The database, migrated to the newest schema on first use."""
        from textloop.store import open_store

        return open_store(self.settings)

    @cached_property
    def models(self) -> ModelCache:
        """Loaded models, for commands that predict in this process."""
        from textloop.models.base import ModelResources, Use
        from textloop.predict.model_cache import ModelCache

        return ModelCache(
            artifacts_for(self.settings), ModelResources.for_settings(self.settings, Use.SERVING)
        )

    def runtime(self, trains: bool = False) -> Runtime:
        """What a server holds (store, caches, batcher, prediction log), for a command that
        serves in this process; ``trains``: it also trains here (see ``Runtime.open``)."""
        from textloop.serving.runtime import Runtime

        return Runtime.open(self.settings, trains=trains)


def invocation(ctx: typer.Context, **flags: Any) -> Invocation:
    """What the running command works with; ``flags`` are its setting flags by setting name
    (None: not given), which win over every other source."""
    return Invocation(ctx, flags)
