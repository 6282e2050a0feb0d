"""Settings come from flags, then TEXTLOOP_* variables, then <data_dir>/textloop.toml."""

from pathlib import Path

import pytest

from textloop.config import Settings
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
