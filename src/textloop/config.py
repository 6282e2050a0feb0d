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

from textloop.errors import ConfigError

DEFAULT_DATA_DIR = Path("textloop-data")
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one textloop instance."""

    data_dir: Path
    database_url: str
    artifact_root: Path
    split_fractions: dict[str, float] = field(
        default_factory=lambda: {"train": 0.8, "validation": 0.1, "test": 0.1}
    )

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
        return cls(data_dir=resolved_dir, database_url=str(url), artifact_root=artifacts)

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
    unknown = set(values) - {"database_url", "artifact_root"}
    if unknown:
        raise ConfigError(f"{path}: unknown settings {', '.join(sorted(unknown))}")
    return {key: str(value) for key, value in values.items()}
