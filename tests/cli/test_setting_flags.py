"""The flags that set a setting are the ones ``config.SETTINGS`` declares, on the commands it
names, with its help: the table and the CLI cannot drift apart."""

import click
import pytest
import typer.main

from textloop.cli import app
from textloop.config import SETTINGS, Setting


def option(setting: Setting) -> click.Parameter:
    assert setting.flag is not None
    root = typer.main.get_group(app)
    command = root if setting.flag.command is None else root.commands[setting.flag.command]
    (found,) = [p for p in command.params if setting.flag.option in getattr(p, "opts", ())]
    return found


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.flag], ids=lambda s: s.name)
def test_each_setting_flag_is_on_its_command_with_the_tables_help(setting: Setting) -> None:
    assert setting.flag is not None
    found = option(setting)
    assert getattr(found, "help", None) == setting.flag.help
    assert found.name == setting.name  # the parameter the command passes to invocation()
    assert found.default is None  # unset: the setting's own value stands


def test_only_the_data_dir_flag_reads_its_variable_itself() -> None:
    envvars = {s.name: option(s).envvar for s in SETTINGS if s.flag}
    assert envvars == {name: None for name in envvars} | {"data_dir": "TEXTLOOP_DATA_DIR"}
