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
SETTINGS = (
    "database_url",
    "artifact_root",
    "tune_trials",
    "tune_seconds",
    "encoder_dir",
    "encoder_runtime",
    "batch_wait_ms",
    "embedding_cache",
    "max_body_bytes",
    "max_upload_bytes",
    "max_upload_rows",
    "webhook_allowed_hosts",
    "max_header_bytes",
    "header_timeout",
    "max_connections",
    "forwarded_allow_ips",
    "engine",
    "ray_address",
    "batch_input_roots",
)
ENGINES = ("local", "ray")
# How sentence encoders run: ONNX Runtime on an export made at training time (INT8 on the CPU by
# default, FP16 on CUDA), or PyTorch as the original model does.
ENCODER_RUNTIMES = ("onnx-int8", "onnx-fp32", "onnx-fp16", "torch")


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
    encoder_dir: Path | None = None  # ONNX exports of encoders; None: <artifact_root>/encoders
    encoder_runtime: str = "onnx-int8"
    batch_wait_ms: float = 2.0  # how long the server may gather concurrent requests; 0: no batching
    embedding_cache: int = 50_000  # embeddings kept per encoder, by text; 0 keeps none
    # Request bodies (serving.limits): a JSON request, an upload (dataset file or pool texts).
    # 16 MiB holds the largest valid classify request, 256 texts of 10,000 characters, even in
    # 3-byte UTF-8 (7.7 MB) or with every character escaped as \uXXXX (15.4 MB).
    max_body_bytes: int = 16 * 1024 * 1024
    max_upload_bytes: int = 100 * 1024 * 1024
    max_upload_rows: int = 1_000_000
    # Hosts webhooks may reach though they are not public addresses (loopback, private, ...):
    # by default none, so that an admin key cannot point the server at its own network.
    webhook_allowed_hosts: tuple[str, ...] = ()
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto the server believes: by default none, so
    # that a client cannot choose the address the audit log and sign-in throttling see.
    forwarded_allow_ips: tuple[str, ...] = ()
    # Connections of `textloop serve` (serving.connections): the largest request head (431
    # beyond), the seconds a connection has to send one whole, the open connections per process
    # (503 beyond; keep it under the open-file limit, `ulimit -n`, with room for the database).
    max_header_bytes: int = 32 * 1024
    header_timeout: float = 20.0
    max_connections: int = 1000
    # Batch classification (textloop.batch): the engine it runs on by default, the Ray cluster
    # to join (None starts a local Ray per job), and the folders a batch job submitted over HTTP
    # may read its input from (none by default: such a job must upload its file).
    engine: str = "local"
    ray_address: str | None = None
    batch_input_roots: tuple[Path, ...] = ()

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
        exports = env.get("TEXTLOOP_ENCODER_DIR") or file_values.get("encoder_dir")
        runtime = (
            env.get("TEXTLOOP_ENCODER_RUNTIME") or file_values.get("encoder_runtime") or "onnx-int8"
        )
        if runtime not in ENCODER_RUNTIMES:
            raise ConfigError(
                f"encoder_runtime must be one of {', '.join(ENCODER_RUNTIMES)}, not {runtime!r}"
            )
        wait = env.get("TEXTLOOP_BATCH_WAIT_MS") or file_values.get("batch_wait_ms") or "2"
        cache = env.get("TEXTLOOP_EMBEDDING_CACHE") or file_values.get("embedding_cache") or "50000"
        limits = {  # only those set; the others keep the defaults above
            name: _number(int, name, value)
            for name in (
                "max_body_bytes",
                "max_upload_bytes",
                "max_upload_rows",
                "max_header_bytes",
                "max_connections",
            )
            if (value := env.get(f"TEXTLOOP_{name.upper()}") or file_values.get(name))
        }
        head = env.get("TEXTLOOP_HEADER_TIMEOUT") or file_values.get("header_timeout") or "20"
        hosts = (
            env.get("TEXTLOOP_WEBHOOK_ALLOWED_HOSTS")
            or file_values.get("webhook_allowed_hosts")
            or ""
        )
        proxies = (
            env.get("TEXTLOOP_FORWARDED_ALLOW_IPS") or file_values.get("forwarded_allow_ips") or ""
        )
        engine = env.get("TEXTLOOP_ENGINE") or file_values.get("engine") or "local"
        if engine not in ENGINES:
            raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        roots = env.get("TEXTLOOP_BATCH_INPUT_ROOTS") or file_values.get("batch_input_roots") or ""
        return cls(
            data_dir=resolved_dir,
            database_url=str(url),
            artifact_root=artifacts,
            tune_trials=_number(int, "tune_trials", trials),
            tune_seconds=_number(float, "tune_seconds", seconds),
            encoder_dir=Path(exports) if exports else artifacts / "encoders",
            encoder_runtime=runtime,
            batch_wait_ms=_number(float, "batch_wait_ms", wait),
            embedding_cache=_number(int, "embedding_cache", cache),
            header_timeout=_number(float, "header_timeout", head),
            webhook_allowed_hosts=tuple(h.strip() for h in hosts.split(",") if h.strip()),
            forwarded_allow_ips=tuple(a.strip() for a in proxies.split(",") if a.strip()),
            engine=engine,
            ray_address=env.get("TEXTLOOP_RAY_ADDRESS") or file_values.get("ray_address") or None,
            batch_input_roots=tuple(
                Path(root.strip()).expanduser().resolve()
                for root in roots.split(",")
                if root.strip()
            ),
            **limits,
        )

    def environment(self) -> dict[str, str]:
        """These settings as ``TEXTLOOP_*`` variables, for processes started with them."""
        return {
            "TEXTLOOP_DATA_DIR": str(self.data_dir),
            "TEXTLOOP_DATABASE_URL": self.database_url,
            "TEXTLOOP_ARTIFACT_ROOT": str(self.artifact_root),
            "TEXTLOOP_TUNE_TRIALS": str(self.tune_trials),
            "TEXTLOOP_TUNE_SECONDS": str(self.tune_seconds),
            "TEXTLOOP_ENCODER_DIR": str(self.encoder_dir or self.artifact_root / "encoders"),
            "TEXTLOOP_ENCODER_RUNTIME": self.encoder_runtime,
            "TEXTLOOP_BATCH_WAIT_MS": str(self.batch_wait_ms),
            "TEXTLOOP_EMBEDDING_CACHE": str(self.embedding_cache),
            "TEXTLOOP_MAX_BODY_BYTES": str(self.max_body_bytes),
            "TEXTLOOP_MAX_UPLOAD_BYTES": str(self.max_upload_bytes),
            "TEXTLOOP_MAX_UPLOAD_ROWS": str(self.max_upload_rows),
            "TEXTLOOP_WEBHOOK_ALLOWED_HOSTS": ",".join(self.webhook_allowed_hosts),
            "TEXTLOOP_MAX_HEADER_BYTES": str(self.max_header_bytes),
            "TEXTLOOP_HEADER_TIMEOUT": str(self.header_timeout),
            "TEXTLOOP_MAX_CONNECTIONS": str(self.max_connections),
            "TEXTLOOP_FORWARDED_ALLOW_IPS": ",".join(self.forwarded_allow_ips),
            "TEXTLOOP_ENGINE": self.engine,
            "TEXTLOOP_RAY_ADDRESS": self.ray_address or "",
            "TEXTLOOP_BATCH_INPUT_ROOTS": ",".join(map(str, self.batch_input_roots)),
        }

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
    # a list (``webhook_allowed_hosts = ["hooks.internal"]``) reads as its comma-separated items
    return {
        key: ",".join(map(str, value)) if isinstance(value, list) else str(value)
        for key, value in values.items()
    }


def _number(kind: type[Any], name: str, value: str) -> Any:
    try:
        number = kind(value)
    except ValueError:
        raise ConfigError(f"{name} must be a {kind.__name__}, not {value!r}") from None
    if number < 0:
        raise ConfigError(f"{name} must not be negative, got {value!r}")
    return number
