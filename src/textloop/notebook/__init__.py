"""textloop from Python, in process: ``open`` gives a data directory's operations as a
``Workspace`` (``textloop.open`` also reaches a running server, through the HTTP client)."""

from __future__ import annotations

from pathlib import Path

from textloop.notebook.workspace import Workspace

__all__ = ["Workspace", "open_workspace"]


def open_workspace(where: str | Path | None = None, progress: bool = True) -> Workspace:
    """A ``Workspace`` on the data directory ``where`` (default: as the CLI finds it, from
    ``TEXTLOOP_DATA_DIR`` or ``./textloop-data``), created on first use."""
    from textloop.config import Settings

    settings = Settings.load(data_dir=Path(where).expanduser() if where is not None else None)
    return Workspace(settings, progress=progress)
