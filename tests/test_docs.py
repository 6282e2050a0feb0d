"""Every CLI command, API route and setting is documented, and the docs name nothing else."""

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import typer.main

from textloop.cli import app
from textloop.config import REFERENCE_END, REFERENCE_START, SETTINGS, Settings, reference
from textloop.serving.app import create_app

DOCS = Path(__file__).parents[1] / "docs"
# "## `textloop batch-jobs list [NAME]`": the command is the leading lower-case words
CLI_HEADING = re.compile(r"^## `textloop ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)*)", re.MULTILINE)


def walk(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[str]:
    """Every command and group below ``command``, as typed after ``textloop``."""
    for name, child in getattr(command, "commands", {}).items():
        yield " ".join((*path, name))
        yield from walk(child, (*path, name))


def command_names() -> list[str]:
    return list(walk(typer.main.get_group(app)))


@pytest.mark.parametrize("command", command_names())
def test_every_cli_command_has_a_section(command: str) -> None:
    assert f"## `textloop {command}" in (DOCS / "cli.md").read_text()


def test_every_command_the_cli_docs_name_exists() -> None:
    documented = CLI_HEADING.findall((DOCS / "cli.md").read_text())
    assert documented, "no `## `textloop COMMAND` headings found in cli.md"
    assert sorted(set(documented) - set(command_names())) == []


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


def reference_section() -> str:
    text = (DOCS / "configuration.md").read_text()
    start, end = text.index(REFERENCE_START), text.index(REFERENCE_END) + len(REFERENCE_END)
    return text[start:end]


def test_the_settings_reference_lists_exactly_the_settings_of_the_table() -> None:
    rows = [line.split(" | ") for line in reference_section().splitlines() if line.startswith("| ")]
    documented = {row[2].strip("`") for row in rows[1:]}  # the environment column
    named = {setting.env for setting in SETTINGS}
    assert sorted(named - documented) == [], "settings missing from docs/configuration.md"
    assert sorted(documented - named) == [], "docs/configuration.md lists unknown settings"
    mentioned = set(re.findall(r"TEXTLOOP_[A-Z0-9_]+", (DOCS / "configuration.md").read_text()))
    assert sorted(mentioned - named) == [], "docs/configuration.md names unknown variables"


def test_the_settings_reference_is_generated_from_the_table() -> None:
    assert reference_section() == reference(), (
        "docs/configuration.md is out of date: run python -m textloop.config docs/configuration.md"
    )
