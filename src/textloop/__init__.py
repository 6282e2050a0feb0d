"""textloop: self-hosted text classification that keeps learning in production."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what the lazy names below are, for type checkers
    from pathlib import Path

    from textloop.client import AsyncClient as AsyncClient
    from textloop.client import Client as Client
    from textloop.notebook import Workspace as Workspace

__version__ = "0.1.0"

# The HTTP client, imported when first named (``textloop.Client``), so that ``import textloop``
# stays light for the server, the CLI and the worker, which never use it.
_CLIENT_NAMES = ("Client", "AsyncClient")


def open(
    where: "str | Path | None" = None, api_key: str | None = None, progress: bool = True
) -> "Workspace | Client":
    """A ``Workspace``: the CLI's operations in this process on the data directory ``where``
    (default: as the CLI finds it), created on first use; or, for an ``http(s)://`` URL, a
    ``Client`` of that server, authenticated with ``api_key`` (or the ``Client``'s own
    default). See docs/python.md."""
    if isinstance(where, str) and where.startswith(("http://", "https://")):
        from textloop.client import Client

        return Client(where, api_key)
    from textloop.notebook import open_workspace

    return open_workspace(where, progress=progress)


def __getattr__(name: str) -> object:
    if name in _CLIENT_NAMES:
        from textloop import client

        return getattr(client, name)
    if name == "Workspace":
        from textloop.notebook import Workspace

        return Workspace
    raise AttributeError(f"module 'textloop' has no attribute {name!r}")
