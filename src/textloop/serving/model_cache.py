"""Loaded models keyed by model-version id, so a deploy is picked up by the next request.

Each request resolves the classifier's ``production`` alias to a version id (one indexed query)
and asks this cache for it; a new id loads the new model while requests already holding the old
one finish on it. Only the few most recently used versions stay in memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from textloop.models.base import ModelResources, load_model


class ModelCache:
    def __init__(self, artifact_root: Path, resources: ModelResources, capacity: int = 8) -> None:
        self.artifact_root = artifact_root
        self.resources = resources
        self.capacity = capacity
        self._models: OrderedDict[int, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[int, threading.Lock] = {}

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
