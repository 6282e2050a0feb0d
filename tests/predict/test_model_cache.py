"""The model cache loads a version once however many ask at once, and keeps the newest few."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from textloop.models.base import ModelResources
from textloop.predict import model_cache
from textloop.predict.model_cache import ModelCache


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Path]:
    """Every load, by path; a load takes a moment, so requests for one version overlap. The
    versions' folders exist (empty: the loads are pretended)."""
    seen: list[Path] = []
    for version in range(1, 10):
        (tmp_path / "models" / str(version)).mkdir(parents=True)

    def load(path: Path, resources: ModelResources) -> Any:
        seen.append(path)
        time.sleep(0.05)
        return {"model at": path}

    monkeypatch.setattr(model_cache, "load_model", load)
    return seen


def test_many_requests_for_a_new_version_load_it_once(tmp_path: Path, loads: list[Path]) -> None:
    cache = ModelCache(tmp_path, ModelResources())
    models: list[Any] = []
    threads = [
        threading.Thread(target=lambda: models.append(cache.get(7, "models/7"))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loads == [tmp_path / "models/7"]
    assert all(model is models[0] for model in models)


def test_only_the_most_recently_used_versions_stay_loaded(
    tmp_path: Path, loads: list[Path]
) -> None:
    cache = ModelCache(tmp_path, ModelResources(), capacity=2)
    cache.get(1, "models/1")
    cache.get(2, "models/2")
    assert cache.peek(1) is not None  # a use: version 2 is now the oldest
    cache.get(3, "models/3")
    assert cache.peek(2) is None
    assert cache.peek(1) is not None and cache.peek(3) is not None
    assert len(loads) == 3 and cache.capacity == 2
