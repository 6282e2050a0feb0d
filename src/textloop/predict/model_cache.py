"""Loaded models keyed by model-version id, so a deploy is picked up by the next request.

Each caller resolves an alias to a version id (``deployment``) and asks this cache for it; a new
id loads the new model while callers already holding the old one finish on it. Only the
``capacity`` most recently used versions stay in memory (an ``LRU``), and a version is loaded
once even when many requests ask for it at once. ``shared`` gives the long-lived processes (a
worker's drift checks and batch jobs) one cache per artifact root instead of a load per job.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from textloop.artifacts import ArtifactRoot, ArtifactStore, artifact_store
from textloop.lru import LRU
from textloop.models.base import ModelResources, load_model


class ModelCache:
    _shared: ClassVar[dict[tuple[str, int], ModelCache]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self, artifact_root: ArtifactRoot, resources: ModelResources, capacity: int = 8
    ) -> None:
        self.artifacts: ArtifactStore = artifact_store(artifact_root)
        self.resources = resources
        self._models: LRU[int, Any] = LRU(capacity)
        self._lock = threading.Lock()  # guards ``_loading``
        self._loading: dict[int, threading.Lock] = {}

    @property
    def capacity(self) -> int:
        return self._models.capacity

    @classmethod
    def shared(cls, artifact_root: ArtifactRoot, resources: ModelResources) -> ModelCache:
        """The process's cache for these resources (created on first use)."""
        artifacts = artifact_store(artifact_root)
        key = (artifacts.url, id(resources))
        with cls._shared_lock:
            if key not in cls._shared:
                cls._shared[key] = cls(artifacts, resources)
            return cls._shared[key]

    def peek(self, model_version_id: int) -> Any:
        """The model if it is loaded; never loads (so it may be called on the event loop)."""
        return self._models.get(model_version_id)

    def get(self, model_version_id: int, artifact_uri: str) -> Any:
        model = self._models.get(model_version_id)
        if model is not None:
            return model
        with self._lock:
            loading = self._loading.setdefault(model_version_id, threading.Lock())
        with loading:  # one load per version even when many requests arrive at once
            model = self._models.get(model_version_id)
            if model is not None:  # loaded by the request this one waited for
                return model
            model = load_model(self.artifacts.local(artifact_uri), self.resources)
            self._models.put(model_version_id, model)
            with self._lock:
                self._loading.pop(model_version_id, None)
            return model
