"""How the CLI talks to people and scripts: Rich on a terminal, one JSON document with --json.

Errors are one line on stderr; progress bars go to stderr so stdout stays parseable.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

from rich.console import Console

from textloop.pipeline.progress import RichProgress as _RichProgress

out = Console()
err = Console(stderr=True)


def emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise SystemExit(code)


class RichProgress(_RichProgress):
    """Progress bars on stderr, so that stdout stays parseable."""

    def __init__(self, enabled: bool = True) -> None:
        super().__init__(enabled, console=err)


def artifact_details(properties: dict[str, Any]) -> str:
    """An artifact's scalar properties as `` (k=v, ...)``, for one line of a tree."""
    shown = [
        f"{k}={v}"
        for k, v in properties.items()
        if isinstance(v, str | int | float | bool) and k != "path"
    ]
    return f" ({', '.join(shown)})" if shown else ""
