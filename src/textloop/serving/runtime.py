"""Everything a running server holds for its lifetime: settings, the store and loaded models."""

from __future__ import annotations

from dataclasses import dataclass

from textloop.config import Settings
from textloop.models.base import ModelResources
from textloop.serving.model_cache import ModelCache
from textloop.serving.shadow_scoring import ShadowScorer
from textloop.store.database import Store, open_store


@dataclass
class Runtime:
    settings: Settings
    store: Store
    resources: ModelResources
    models: ModelCache
    shadow: ShadowScorer

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        store = open_store(settings)
        resources = ModelResources()
        models = ModelCache(settings.artifact_root, resources)
        return cls(settings, store, resources, models, ShadowScorer(store, models))

    def close(self) -> None:
        self.shadow.close()
        self.store.dispose()
