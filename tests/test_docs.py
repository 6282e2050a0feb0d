"""Every CLI command, API route and setting is documented."""

from pathlib import Path

import pytest
import typer.main

from textloop.cli import app
from textloop.config import Settings
from textloop.serving.app import create_app

DOCS = Path(__file__).parents[1] / "docs"


def command_names() -> list[str]:
    group = typer.main.get_group(app)
    names = []
    for name, command in group.commands.items():
        sub = getattr(command, "commands", None)
        names.extend(f"{name} {child}" for child in sub) if sub else names.append(name)
    return names


@pytest.mark.parametrize("command", command_names())
def test_every_cli_command_has_a_section(command: str) -> None:
    assert f"## `textloop {command}" in (DOCS / "cli.md").read_text()


def test_every_api_route_is_in_the_api_docs(tmp_path: Path) -> None:
    paths = create_app(Settings.load(data_dir=tmp_path)).openapi()["paths"]
    text = (DOCS / "api.md").read_text()
    for path, operations in paths.items():
        for method in operations:
            assert f"| {method.upper()} | `{path}` |" in text, f"{method.upper()} {path}"


def test_every_setting_is_in_the_configuration_docs() -> None:
    text = (DOCS / "configuration.md").read_text()
    for env in ("TEXTLOOP_DATA_DIR", "TEXTLOOP_DATABASE_URL", "TEXTLOOP_ARTIFACT_ROOT"):
        assert env in text
    for field in Settings.__dataclass_fields__:
        if field != "split_fractions":
            assert field.replace("_", " ") in text.lower(), field
