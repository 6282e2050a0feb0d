"""Everything a running server holds for its lifetime: settings, the store and loaded models."""

from __future__ import annotations

from dataclasses import dataclass

from textloop.config import Settings
from textloop.models.base import ModelResources
from textloop.serving.model_cache import ModelCache
from textloop.store.database import Store, open_store


@dataclass
class Runtime:
    settings: Settings
    store: Store
    resources: ModelResources
    models: ModelCache

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        store = open_store(settings)
        resources = ModelResources()
        return cls(settings, store, resources, ModelCache(settings.artifact_root, resources))

    def close(self) -> None:
        self.store.dispose()
