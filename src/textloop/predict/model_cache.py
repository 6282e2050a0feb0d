"""Loaded models keyed by model-version id, so a deploy is picked up by the next request.

Each caller resolves an alias to a version id (``deployment``) and asks this cache for it; a new
id loads the new model while callers already holding the old one finish on it. Only the few most
recently used versions stay in memory. ``shared`` gives the long-lived processes (a worker's
drift checks and batch jobs) one cache per artifact root instead of a load per job.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, ClassVar

from textloop.models.base import ModelResources, load_model


class ModelCache:
    _shared: ClassVar[dict[tuple[Path, int], ModelCache]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, artifact_root: Path, resources: ModelResources, capacity: int = 8) -> None:
        self.artifact_root = artifact_root
        self.resources = resources
        self.capacity = capacity
        self._models: OrderedDict[int, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[int, threading.Lock] = {}

    @classmethod
    def shared(cls, artifact_root: Path, resources: ModelResources) -> ModelCache:
        """The process's cache for these resources (created on first use)."""
        key = (Path(artifact_root), id(resources))
        with cls._shared_lock:
            if key not in cls._shared:
                cls._shared[key] = cls(Path(artifact_root), resources)
            return cls._shared[key]

    def peek(self, model_version_id: int) -> Any:
        """The model if it is loaded; never loads (so it may be called on the event loop)."""
        with self._lock:
            model = self._models.get(model_version_id)
            if model is not None:
                self._models.move_to_end(model_version_id)
            return model

    def get(self, model_version_id: int, artifact_uri: str) -> Any:
        with self._lock:
            if model_version_id in self._models:
                self._models.move_to_end(model_version_id)
                return self._models[model_version_id]
            loading = self._loading.setdefault(model_version_id, threading.Lock())
        with loading:  # one load per version even when many requests arrive at once
            with self._lock:
                if model_version_id in self._models:
                    return self._models[model_version_id]
            model = load_model(self.artifact_root / artifact_uri, self.resources)
            with self._lock:
                self._models[model_version_id] = model
                self._loading.pop(model_version_id, None)
                while len(self._models) > self.capacity:
                    self._models.popitem(last=False)
            return model
