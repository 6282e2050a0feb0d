"""A sentence encoder served by ONNX Runtime and ``tokenizers`` alone: no PyTorch is imported.

It reads an export made by ``onnx_export`` and, when loaded, encodes the export's probe texts
and compares them with what the original model gave; an export whose files no longer agree as
well as they did at export time is refused rather than served. Embeddings are cached by text
in a bounded LRU (``CachedEncoder``), as in ``SentenceEncoder``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from textloop.errors import ConfigError
from textloop.machine import usable_cores
from textloop.models.encoders import CachedEncoder
from textloop.models.shared_predict import bucket_for, embed

PRECISIONS = ("int8", "fp32", "fp16")
FORMAT = 1
MANIFEST = "encoder.json"
PROBES = "probes.npz"
FILES = {"fp32": "encoder.onnx", "int8": "encoder.int8.onnx", "fp16": "encoder.fp16.onnx"}
MARGIN = 0.002  # how far below the agreement measured at export a load may fall


@dataclass(frozen=True)
class ExportManifest:
    format: int
    encoder: str
    dimension: int
    max_length: int
    files: dict[str, str]
    min_cosine: dict[str, float]  # agreement with the original on the probe texts, per file

    def save(self, directory: Path) -> None:
        (directory / MANIFEST).write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> ExportManifest:
        try:
            data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"no readable ONNX encoder export in {directory}: {exc}") from exc
        if data.get("format") != FORMAT:
            raise ConfigError(f"{directory} holds an ONNX export of an unknown format")
        return cls(**data)


def has_export(directory: Path, precision: str) -> bool:
    """Whether ``directory`` holds an export with a file of ``precision`` (older exports have
    no FP16 file)."""
    try:
        return precision in ExportManifest.load(directory).files
    except ConfigError:
        return False


def providers_for(precision: str) -> list[str]:
    """FP16 runs on CUDA where ONNX Runtime has it (``onnxruntime-gpu``); all else on the CPU."""
    import onnxruntime

    if precision == "fp16" and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


class OnnxEncoder(CachedEncoder):
    chunk_size = 1024

    def __init__(
        self,
        directory: Path,
        precision: str = "int8",
        check: bool = True,
        cache_size: int = 50_000,
        threads: int | None = None,
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        if precision not in PRECISIONS:
            raise ConfigError(
                f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}"
            )
        self.directory = directory
        self.precision = precision
        self.runtime = f"onnx-{precision}"
        self.manifest = ExportManifest.load(directory)
        self.name = self.manifest.encoder
        super().__init__(cache_size)
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(self.manifest.max_length)
        self._tokenizer.no_padding()
        cores = threads or min(4, usable_cores())
        # One text per call (INT8) spreads over cores by making calls at once, each on one
        # thread; batched calls (FP32, FP16) spread each call over the cores instead.
        self._workers = cores if bucket_for(precision) == 1 else 1
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1 if self._workers > 1 else cores
        options.inter_op_num_threads = 1
        options.enable_mem_pattern = False  # it plans for one input shape; every call differs
        # Idle ONNX Runtime threads spin by default, taking a core from the threads that read
        # requests and store predictions; on two cores that costs more than it saves.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            str(directory / self.manifest.files[precision]),
            options,
            providers=providers_for(precision),
        )
        if check:
            self.check()

    @property
    def dimension(self) -> int:
        return self.manifest.dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Encode ``texts`` without the cache, as a bundle's ``predict.py`` does."""
        return embed(
            self._session,
            self._tokenizer,
            texts,
            self.dimension,
            bucket_for(self.precision),
            self._workers,
        )

    def agreement(self) -> float:
        """The lowest cosine similarity with the original model over the probe texts."""
        probes = np.load(self.directory / PROBES)
        mine = self.embed([str(text) for text in probes["texts"]])
        return float(np.round((mine * probes["embeddings"]).sum(axis=1).min(), 6))

    def check(self) -> None:
        measured, recorded = self.agreement(), self.manifest.min_cosine[self.precision]
        if measured < recorded - MARGIN:
            raise ConfigError(
                f"the {self.precision} ONNX export of {self.name!r} in {self.directory} agrees "
                f"with the original only to cosine {measured:.4f}, below the {recorded:.4f} "
                "recorded at export; export it again"
            )
