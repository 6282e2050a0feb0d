"""Where textloop keeps its state, resolved once from flags, environment and a TOML file.

Every setting is named once, in ``SETTINGS``: its TOML key (also the ``Settings`` attribute), its
``TEXTLOOP_*`` variable, its type, its default, its help and the CLI flag that exposes it, if any.
That table drives the TOML file, the environment, ``Settings.environment`` for child processes,
the CLI flags (``cli.context.setting_option``) and the reference in docs/configuration.md
(``reference``; ``python -m textloop.config docs/configuration.md`` rewrites it there).

Precedence, highest first: explicit arguments (CLI flags), ``TEXTLOOP_*`` environment
variables, ``<data_dir>/textloop.toml``, built-in defaults. An empty value counts as unset.
Everything else reads a ``Settings`` instead of the environment so that tests can run many
isolated instances in one process.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from textloop.errors import ConfigError

# How sentence encoders run: ONNX Runtime on an export made at training time (INT8 on the CPU by
# default, FP16 on CUDA), or PyTorch as the original model does.
ENCODER_RUNTIMES = ("onnx-int8", "onnx-fp32", "onnx-fp16", "torch")


def absolute_path(value: str) -> Path:
    """A path made absolute against the working directory when the settings load."""
    return Path(value).expanduser().absolute()


def real_path(value: str) -> Path:
    """A path with its links resolved, so that a path checked to lie inside it cannot leave."""
    return Path(value).expanduser().resolve()


def is_url(value: Path | str) -> bool:
    """Whether a location is a URL for fsspec (``s3://...``); ``file://`` is a local path."""
    return isinstance(value, str) and "://" in value and not value.startswith("file://")


def recall_or_off(value: str) -> float:
    """A share of in-scope texts to keep, from 0.5 to below 1, or 0 for none kept aside."""
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"out_of_scope_recall must be a number, not {value!r}") from None
    if number != 0 and not 0.5 <= number < 1:
        raise ConfigError(
            f"out_of_scope_recall must be 0 (off) or from 0.5 to below 1, not {value!r}"
        )
    return number


def location(value: str) -> Path | str:
    """A URL such as ``s3://bucket/prefix`` as written, or a path made absolute."""
    if is_url(value):
        return value.rstrip("/")
    return absolute_path(value.removeprefix("file://"))


TYPE_NAMES: dict[Callable[[str], Any], str] = {
    int: "integer",
    float: "number",
    str: "string",
    Path: "path",
    absolute_path: "path",
    real_path: "path",
    location: "path or URL",
    recall_or_off: "0, or a number from 0.5 to below 1",
}


@dataclass(frozen=True)
class Flag:
    """The command-line option that sets a setting for one command (``command`` None: the root
    ``textloop`` itself); its help is the flag's own, shorter than the setting's."""

    command: str | None
    option: str
    help: str
    show_envvar: bool = False  # the flag also reads the variable itself (and says so in --help)


@dataclass(frozen=True)
class Setting:
    """One setting. ``default`` is written as in TOML or the environment; ``{name}`` in it
    stands for a setting earlier in the table; None leaves the setting unset."""

    name: str
    type: Callable[[str], Any]  # of one value: int, float, str, Path or a *_path function
    default: str | None
    help: str
    choices: tuple[str, ...] = ()
    many: bool = False  # comma-separated in the environment, a list in TOML; a tuple here
    toml: bool = True  # False: the environment or a flag only (the data dir holds the file)
    flag: Flag | None = None

    @property
    def env(self) -> str:
        return f"TEXTLOOP_{self.name.upper()}"

    def parse(self, raw: str | None) -> Any:
        """The typed value of ``raw`` (None: the setting is unset), or a ConfigError naming it."""
        if self.many:
            items = (item.strip() for item in (raw or "").split(","))
            return tuple(self._one(item) for item in items if item)
        return None if raw is None else self._one(raw)

    def _one(self, raw: str) -> Any:
        if self.choices and raw not in self.choices:
            choices = ", ".join(self.choices)
            raise ConfigError(f"{self.name} must be one of {choices}, not {raw!r}")
        if self.type not in (int, float):
            return self.type(raw)
        try:
            number = self.type(raw)
        except ValueError:
            kind = getattr(self.type, "__name__", "number")
            raise ConfigError(f"{self.name} must be a {kind}, not {raw!r}") from None
        if number < 0:
            raise ConfigError(f"{self.name} must not be negative, got {raw!r}")
        return number

    def format(self, value: Any) -> str:
        """``value`` as the environment carries it; ``parse`` reads it back unchanged."""
        if value is None:
            return ""
        return ",".join(map(str, value)) if self.many else str(value)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "data_dir", absolute_path, "./textloop-data",
        "The folder textloop keeps its state in: the SQLite database, artifacts, journals, "
        "the demo's key and `textloop.toml` (which therefore cannot set it).",
        toml=False,
        flag=Flag(
            None, "--data-dir",
            "Where textloop keeps its database and artifacts (default: ./textloop-data).",
            show_envvar=True,
        ),
    ),
    Setting(
        "database_url", str, "sqlite:///{data_dir}/textloop.db",
        "The database as a SQLAlchemy URL: SQLite, or PostgreSQL such as "
        "`postgresql://user@host:5432/textloop`.",
    ),
    Setting(
        "artifact_root", location, "{data_dir}/artifacts",
        "Where model artifacts are stored (`classifiers/<name>/models/<version>/`), recorded "
        "relative to it so that the folder can move: a local folder, or an fsspec URL such as "
        "`s3://bucket/prefix` that several hosts share (each keeps a cache of what it reads).",
    ),
    Setting(
        "s3_endpoint_url", str, None,
        "The S3 endpoint of an `s3://` artifact root other than AWS's (MinIO, Ceph, ...). "
        "Credentials come from the usual `AWS_*` variables or files, never from textloop.",
    ),
    Setting(
        "artifact_cache_mb", int, "2048",
        "Megabytes of a remote artifact root's files each host keeps in "
        "`{data_dir}/cache/artifacts`, least recently used first out.",
    ),
    Setting(
        "tune_trials", int, "0",
        "Extra hyper-parameter trials per training run; 0 keeps each family's defaults.",
        flag=Flag(
            "train", "--tune-trials",
            "Hyper-parameter trials beyond each family's defaults (default: 0).",
        ),
    ),
    Setting(
        "tune_seconds", float, "300",
        "Seconds after which a training run starts no more tuning trials.",
        flag=Flag(
            "train", "--tune-seconds", "Stop starting tuning trials after this many seconds."
        ),
    ),
    Setting(
        "finetune_seconds", float, "180",
        "The longest the ``finetuned`` family may spend adapting its encoder in one training "
        "run; its schedule is planned from the data, and this only stops a slow machine. 0 "
        "turns fine-tuning off: ``auto`` leaves the family out.",
        flag=Flag(
            "train", "--finetune-seconds",
            "The longest the finetuned family may spend adapting its encoder.",
        ),
    ),
    Setting(
        "cascade_max_drop", float, "0.001",
        "Where the trained model needs an encoder, a cheap n-gram model answers the texts it is "
        "sure of first; its threshold keeps validation accuracy (micro-F1 for label sets) "
        "within this share of the full model's (0.001: a tenth of a point). 0 turns the cascade "
        "off.",
        flag=Flag(
            "train", "--cascade-max-drop",
            "Accuracy (micro-F1 for label sets) the cheap first stage may cost on validation "
            "(0: no cascade).",
        ),
    ),
    Setting(
        "out_of_scope_recall", recall_or_off, "0.97",
        "Training learns, with no out-of-scope example, when a text fits none of a single-label "
        "classifier's labels; its threshold keeps this share of the validation texts in scope. "
        "0 learns nothing of the kind.",
        flag=Flag(
            "train", "--out-of-scope-recall",
            "Share of in-scope validation texts the out-of-scope threshold keeps (0: off).",
        ),
    ),
    Setting(
        "encoder_dir", location, "{artifact_root}/encoders",
        "Where the ONNX exports of sentence encoders live.",
    ),
    Setting(
        "encoder_runtime", str, "onnx-int8",
        "How sentence encoders run: ONNX Runtime on the export made at training time (INT8 or "
        "FP32 on the CPU, FP16 on CUDA), or PyTorch as the original model does. Changing it "
        "changes the embeddings a little: retrain.",
        choices=ENCODER_RUNTIMES,
    ),
    Setting(
        "batch_wait_ms", float, "2",
        "How long the server may gather concurrent requests into one model call; 0 turns "
        "batching off.",
        flag=Flag(
            "serve", "--batch-wait-ms",
            "How long concurrent requests may be gathered into one model call.",
        ),
    ),
    Setting(
        "prediction_queue_limit", int, "20000",
        "Answered predictions a server holds waiting to be stored; when the database falls "
        "this far behind, classify answers 503 with Retry-After and /readyz says not ready.",
    ),
    Setting(
        "embedding_cache", int, "50000",
        "Embeddings kept per encoder, by text; 0 keeps none.",
    ),
    Setting(
        "max_body_bytes", int, "16777216",
        "The largest request body of an API route other than the uploads (16 MiB: the largest "
        "valid classify request, 256 texts of 10,000 characters, even with every character "
        "escaped); 413 beyond.",
    ),
    Setting(
        "max_upload_bytes", int, "104857600",
        "The largest upload, a dataset file or pool texts (100 MiB), streamed to disk; 413 beyond.",
    ),
    Setting(
        "max_upload_rows", int, "1000000",
        "The most rows of a dataset file, or texts of a pool request.",
    ),
    Setting(
        "webhook_allowed_hosts", str, None,
        "Hosts webhooks may reach though they are not public addresses (loopback, private, ...), "
        "each as written in webhook URLs. None by default, so that an admin key cannot point "
        "the server at its own network.",
        many=True,
    ),
    Setting(
        "max_header_bytes", int, "32768",
        "The largest request head (request line and headers) `textloop serve` reads (32 KiB); "
        "431 beyond.",
    ),
    Setting(
        "header_timeout", float, "20",
        "Seconds a connection of `textloop serve` has to send a whole request head.",
    ),
    Setting(
        "max_connections", int, "1000",
        "Open connections per server process; 503 beyond. Keep it under the open-file limit "
        "(`ulimit -n`) with room for the database and model files.",
    ),
    Setting(
        "forwarded_allow_ips", str, None,
        "Proxies whose `X-Forwarded-For`/`X-Forwarded-Proto` the server believes. None by "
        "default, so that a client cannot choose the address the audit log and sign-in "
        "throttling see.",
        many=True,
    ),
    Setting(
        # no choices: engines register at run time (``textloop.batch.engines.engines``), so the
        # batch checks the name there, as it does the flag's
        "engine", str, "local",
        "Where batch classification runs by default: `local` (this process), `ray`, or an "
        "engine registered in `textloop.batch.engines.engines`; an unknown name is refused when "
        "a batch starts, naming the known ones.",
        flag=Flag(
            "batch-classify", "--engine",
            "local (this process), ray, or a registered engine (default: the setting).",
        ),
    ),
    Setting(
        "ray_address", str, None,
        "The Ray cluster batch work joins (`ray://host:10001` or `host:6379`); unset, a local "
        "Ray is started per batch and stopped after.",
        flag=Flag(
            "batch-classify", "--ray-address", "Ray cluster to join (default: start a local Ray)."
        ),
    ),
    Setting(
        "batch_input_roots", real_path, None,
        "Folders a batch job submitted over HTTP may name its input in; none by default: such "
        "a job uploads its file.",
        many=True,
    ),
)  # fmt: skip
BY_NAME = {setting.name: setting for setting in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one textloop instance: one attribute per entry of ``SETTINGS``
    (their help is there), in its order, and the split fractions, which are not configurable."""

    data_dir: Path
    database_url: str
    artifact_root: Path | str
    s3_endpoint_url: str | None
    artifact_cache_mb: int
    tune_trials: int
    tune_seconds: float
    finetune_seconds: float
    cascade_max_drop: float
    out_of_scope_recall: float
    encoder_dir: Path | str | None
    encoder_runtime: str
    batch_wait_ms: float
    prediction_queue_limit: int
    embedding_cache: int
    max_body_bytes: int
    max_upload_bytes: int
    max_upload_rows: int
    webhook_allowed_hosts: tuple[str, ...]
    max_header_bytes: int
    header_timeout: float
    max_connections: int
    forwarded_allow_ips: tuple[str, ...]
    engine: str
    ray_address: str | None
    batch_input_roots: tuple[Path, ...]
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
        given = {"data_dir": data_dir, "database_url": database_url, "artifact_root": artifact_root}
        return cls(**resolve(given, os.environ))

    def with_flags(self, **flags: Any) -> Settings:
        """These settings with the values a command's flags gave (None or "": not given).

        A flag's value is the command's to check, as it checks its other options: a batch
        request refuses an unknown engine the same way whether it came from a flag or the API.
        """
        unknown = set(flags) - set(BY_NAME)
        if unknown:
            raise ValueError(f"not settings: {', '.join(sorted(unknown))}")
        return replace(self, **{k: v for k, v in flags.items() if v is not None and v != ""})

    def environment(self) -> dict[str, str]:
        """These settings as ``TEXTLOOP_*`` variables, for processes started with them."""
        return {s.env: s.format(getattr(self, s.name)) for s in SETTINGS}

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if isinstance(self.artifact_root, Path):
            self.artifact_root.mkdir(parents=True, exist_ok=True)


def resolve(given: Mapping[str, object], env: Mapping[str, str]) -> dict[str, Any]:
    """Every setting's value by precedence: ``given``, ``env``, the data dir's TOML file, the
    default. The file is read once the data dir is known, the first setting of the table."""
    values: dict[str, Any] = {}
    from_file: dict[str, str] = {}
    for setting in SETTINGS:
        raw = (
            str(given.get(setting.name) or "")
            or env.get(setting.env)
            or (from_file.get(setting.name) if setting.toml else None)
            or _default(setting, values)
        )
        values[setting.name] = setting.parse(raw)
        if setting.name == "data_dir":
            from_file = _read_toml(values["data_dir"] / "textloop.toml")
    return values


def _default(setting: Setting, earlier: dict[str, Any]) -> str | None:
    if setting.default is None:
        return None
    return setting.default.format(**{name: str(value) for name, value in earlier.items()})


def _read_toml(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    unknown = set(values) - {setting.name for setting in SETTINGS if setting.toml}
    if unknown:
        raise ConfigError(f"{path}: unknown settings {', '.join(sorted(unknown))}")
    # a list (``webhook_allowed_hosts = ["hooks.internal"]``) reads as its comma-separated items
    return {
        key: ",".join(map(str, value)) if isinstance(value, list) else str(value)
        for key, value in values.items()
    }


REFERENCE_START = (
    "<!-- settings reference: `python -m textloop.config docs/configuration.md` writes it -->"
)
REFERENCE_END = "<!-- end of the settings reference -->"


def reference() -> str:
    """The settings reference of docs/configuration.md, between its two marker lines."""
    rows = [
        REFERENCE_START,
        "| setting | TOML key | environment | flag | type | default | what it sets |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        flag = f"`{' '.join(filter(None, (s.flag.command, s.flag.option)))}`" if s.flag else ""
        cells = (
            s.name.replace("_", " "),
            f"`{s.name}`" if s.toml else "—",
            f"`{s.env}`",
            flag,
            _type_name(s),
            _default_shown(s),
            s.help.replace("|", "\\|"),
        )
        rows.append(f"| {' | '.join(cells)} |")
    return "\n".join([*rows, REFERENCE_END])


def _type_name(setting: Setting) -> str:
    name = TYPE_NAMES[setting.type]
    if setting.choices:
        name = "one of " + ", ".join(f"`{choice}`" for choice in setting.choices)
    elif setting.type in (int, float):
        name += " ≥ 0"
    if setting.many:
        return f"list of {name}s (comma-separated in the environment)"
    return name


def _default_shown(setting: Setting) -> str:
    """``{data_dir}/artifacts`` as ``<data dir>/artifacts``."""
    if setting.default is None:
        return "none"
    shown = re.sub(r"{(\w+)}", lambda m: f"<{m.group(1).replace('_', ' ')}>", setting.default)
    return f"`{shown}`"


def write_reference(path: Path) -> None:
    """Replace the settings reference in the Markdown file at ``path`` with ``reference()``."""
    text = path.read_text(encoding="utf-8")
    start, end = text.index(REFERENCE_START), text.index(REFERENCE_END) + len(REFERENCE_END)
    path.write_text(text[:start] + reference() + text[end:], encoding="utf-8")


if __name__ == "__main__":  # python -m textloop.config [docs/configuration.md]
    import sys

    if len(sys.argv) > 1:
        write_reference(Path(sys.argv[1]))
    else:
        print(reference())
