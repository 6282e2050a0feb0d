"""Settings come from flags, then TEXTLOOP_* variables, then <data_dir>/textloop.toml."""

import re
from dataclasses import fields
from pathlib import Path

import pytest

from textloop.config import SETTINGS, Settings
from textloop.errors import ConfigError


def test_defaults_put_everything_under_the_data_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("TEXTLOOP_DATA_DIR", raising=False)
    monkeypatch.delenv("TEXTLOOP_DATABASE_URL", raising=False)
    monkeypatch.delenv("TEXTLOOP_ARTIFACT_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings.load()
    assert settings.data_dir == tmp_path / "textloop-data"
    assert settings.database_url == f"sqlite:///{tmp_path / 'textloop-data' / 'textloop.db'}"
    assert settings.artifact_root == tmp_path / "textloop-data" / "artifacts"


def test_environment_overrides_the_defaults(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TEXTLOOP_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("TEXTLOOP_DATABASE_URL", "postgresql://db/x")
    monkeypatch.setenv("TEXTLOOP_ARTIFACT_ROOT", str(tmp_path / "a"))
    settings = Settings.load()
    assert (settings.data_dir, settings.database_url, settings.artifact_root) == (
        tmp_path / "d",
        "postgresql://db/x",
        tmp_path / "a",
    )


def test_explicit_arguments_win_over_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TEXTLOOP_DATA_DIR", str(tmp_path / "env"))
    assert Settings.load(data_dir=tmp_path / "flag").data_dir == tmp_path / "flag"


def test_toml_file_in_the_data_dir_is_read(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("TEXTLOOP_DATABASE_URL", raising=False)
    monkeypatch.delenv("TEXTLOOP_ARTIFACT_ROOT", raising=False)
    (tmp_path / "textloop.toml").write_text('database_url = "sqlite:///elsewhere.db"\n')
    assert Settings.load(data_dir=tmp_path).database_url == "sqlite:///elsewhere.db"


def test_unknown_toml_setting_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "textloop.toml").write_text('databse_url = "x"\n')
    with pytest.raises(ConfigError, match="databse_url"):
        Settings.load(data_dir=tmp_path)


def test_encoders_run_on_int8_exports_beside_the_artifacts_unless_told_otherwise(
    tmp_path: Path, monkeypatch
) -> None:
    for name in ("TEXTLOOP_ENCODER_DIR", "TEXTLOOP_ENCODER_RUNTIME", "TEXTLOOP_ARTIFACT_ROOT"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.load(data_dir=tmp_path)
    assert settings.encoder_runtime == "onnx-int8"
    assert settings.encoder_dir == tmp_path / "artifacts" / "encoders"
    assert settings.batch_wait_ms == 2.0
    (tmp_path / "textloop.toml").write_text('encoder_runtime = "torch"\nbatch_wait_ms = 0\n')
    configured = Settings.load(data_dir=tmp_path)
    assert (configured.encoder_runtime, configured.batch_wait_ms) == ("torch", 0.0)


def test_an_unknown_encoder_runtime_is_an_error_listing_the_known_ones(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("TEXTLOOP_ENCODER_RUNTIME", "onnx-int4")
    with pytest.raises(ConfigError, match="onnx-int8, onnx-fp32, onnx-fp16, torch"):
        Settings.load(data_dir=tmp_path)


def test_settings_pass_to_another_process_through_its_environment(
    tmp_path: Path, monkeypatch
) -> None:
    original = Settings.load(data_dir=tmp_path, database_url="sqlite:///x.db")
    for name, value in original.environment().items():
        monkeypatch.setenv(name, value)
    assert Settings.load() == original


def test_every_settings_attribute_is_named_in_the_table_in_its_order() -> None:
    assert [f.name for f in fields(Settings)] == [s.name for s in SETTINGS] + ["split_fractions"]
    assert Settings.load.__defaults__ == (None, None, None)  # data_dir, database_url, artifact_root


def test_a_flag_wins_over_the_environment_and_an_unset_flag_changes_nothing(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("TEXTLOOP_TUNE_TRIALS", "4")
    monkeypatch.setenv("TEXTLOOP_ENGINE", "ray")
    loaded = Settings.load(data_dir=tmp_path)
    assert loaded.with_flags(tune_trials=None, engine="") == loaded
    flagged = loaded.with_flags(tune_trials=0, batch_wait_ms=0.0)
    assert (flagged.tune_trials, flagged.batch_wait_ms, flagged.engine) == (0, 0.0, "ray")
    with pytest.raises(ValueError, match="tune_trails"):
        loaded.with_flags(tune_trails=1)


def test_lists_read_from_the_environment_or_toml_and_pass_back_through_the_environment(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("TEXTLOOP_WEBHOOK_ALLOWED_HOSTS", " hooks.internal, ,10.0.0.7")
    toml = 'forwarded_allow_ips = ["10.0.0.1"]\nray_address = ""\n'
    (tmp_path / "textloop.toml").write_text(toml)
    settings = Settings.load(data_dir=tmp_path)
    assert settings.webhook_allowed_hosts == ("hooks.internal", "10.0.0.7")
    assert settings.forwarded_allow_ips == ("10.0.0.1",)
    assert settings.ray_address is None  # empty counts as unset
    assert settings.environment()["TEXTLOOP_WEBHOOK_ALLOWED_HOSTS"] == "hooks.internal,10.0.0.7"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TEXTLOOP_TUNE_TRIALS", "1.5", "tune_trials must be a int, not '1.5'"),
        ("TEXTLOOP_HEADER_TIMEOUT", "-1", "header_timeout must not be negative, got '-1'"),
        (
            "TEXTLOOP_ENCODER_RUNTIME",
            "onnx-int4",
            "encoder_runtime must be one of onnx-int8, onnx-fp32, onnx-fp16, torch, "
            "not 'onnx-int4'",
        ),
    ],
)
def test_a_bad_value_is_an_error_naming_the_setting(
    tmp_path: Path, monkeypatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=re.escape(message)):
        Settings.load(data_dir=tmp_path)
