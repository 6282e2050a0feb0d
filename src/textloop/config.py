"""Where textloop keeps its state, resolved once from flags, environment and a TOML file.

Precedence, highest first: explicit arguments (CLI flags), ``TEXTLOOP_*`` environment
variables, ``<data_dir>/textloop.toml``, built-in defaults. Everything else reads a ``Settings``
instead of the environment so that tests can run many isolated instances in one process.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textloop.errors import ConfigError

DEFAULT_DATA_DIR = Path("textloop-data")
DEFAULT_THRESHOLD = 0.5
SETTINGS = ("database_url", "artifact_root", "tune_trials", "tune_seconds")


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one textloop instance."""

    data_dir: Path
    database_url: str
    artifact_root: Path
    split_fractions: dict[str, float] = field(
        default_factory=lambda: {"train": 0.8, "validation": 0.1, "test": 0.1}
    )
    tune_trials: int = 0  # extra hyper-parameter trials per training run; 0 keeps the defaults
    tune_seconds: float = 300.0

    @classmethod
    def load(
        cls,
        data_dir: Path | str | None = None,
        database_url: str | None = None,
        artifact_root: Path | str | None = None,
    ) -> Settings:
        env = os.environ
        resolved_dir = Path(data_dir or env.get("TEXTLOOP_DATA_DIR") or DEFAULT_DATA_DIR)
        resolved_dir = resolved_dir.expanduser().absolute()
        file_values = _read_toml(resolved_dir / "textloop.toml")
        url = (
            database_url
            or env.get("TEXTLOOP_DATABASE_URL")
            or file_values.get("database_url")
            or f"sqlite:///{resolved_dir / 'textloop.db'}"
        )
        artifacts = Path(
            artifact_root
            or env.get("TEXTLOOP_ARTIFACT_ROOT")
            or file_values.get("artifact_root")
            or resolved_dir / "artifacts"
        )
        trials = env.get("TEXTLOOP_TUNE_TRIALS") or file_values.get("tune_trials") or "0"
        seconds = env.get("TEXTLOOP_TUNE_SECONDS") or file_values.get("tune_seconds") or "300"
        return cls(
            data_dir=resolved_dir,
            database_url=str(url),
            artifact_root=artifacts,
            tune_trials=_number(int, "tune_trials", trials),
            tune_seconds=_number(float, "tune_seconds", seconds),
        )

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.artifact_root.mkdir(parents=True, exist_ok=True)


def _read_toml(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    unknown = set(values) - set(SETTINGS)
    if unknown:
        raise ConfigError(f"{path}: unknown settings {', '.join(sorted(unknown))}")
    return {key: str(value) for key, value in values.items()}


def _number(kind: type[Any], name: str, value: str) -> Any:
    try:
        number = kind(value)
    except ValueError:
        raise ConfigError(f"{name} must be a {kind.__name__}, not {value!r}") from None
    if number < 0:
        raise ConfigError(f"{name} must not be negative, got {value!r}")
    return number
