"""A sentence encoder served by ONNX Runtime and ``tokenizers`` alone: no PyTorch is imported.

It reads an export made by ``onnx_export`` and, when loaded, encodes the export's probe texts
and compares them with what the original model gave; an export whose files no longer agree as
well as they did at export time is refused rather than served. Embeddings are cached by text
in a bounded LRU (``CachedEncoder``), as in ``SentenceEncoder``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from textloop.errors import ConfigError
from textloop.models.encoders import CachedEncoder

PRECISIONS = ("int8", "fp32")  # FP16 for CUDA is not exported yet
FORMAT = 1
MANIFEST = "encoder.json"
PROBES = "probes.npz"
FILES = {"fp32": "encoder.onnx", "int8": "encoder.int8.onnx"}
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


class OnnxEncoder(CachedEncoder):
    chunk_size = 64  # one padded encoder call each: small chunks pad less

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
        self.manifest = ExportManifest.load(directory)
        self.name = self.manifest.encoder
        super().__init__(cache_size)
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(self.manifest.max_length)
        self._tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(directory / self.manifest.files[precision]),
            options,
            providers=["CPUExecutionProvider"],
        )
        if check:
            self.check()

    @property
    def dimension(self) -> int:
        return self.manifest.dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One encoder call for ``texts`` padded to the longest of them; no cache."""
        encoded = self._tokenizer.encode_batch(list(texts))
        width = max(len(e.ids) for e in encoded)
        ids = np.zeros((len(encoded), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, item in enumerate(encoded):
            ids[row, : len(item.ids)] = item.ids
            mask[row, : len(item.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (embeddings,) = self._session.run(None, feeds)
        return np.asarray(embeddings, dtype=np.float32)

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
