"""The bundled encoder loads offline, and repeated texts are served from the cache."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from textloop.models.encoders import CachedEncoder, EncoderPool, resolve_encoder_path


def test_the_default_encoder_resolves_to_the_installed_package() -> None:
    path = resolve_encoder_path("all-MiniLM-L6-v2")
    assert path.endswith("model")


def test_encoders_with_the_same_name_are_shared() -> None:
    pool = EncoderPool()
    assert pool.get("all-MiniLM-L6-v2") is pool.get("all-MiniLM-L6-v2")


@pytest.mark.slow
def test_embeddings_are_normalised_and_cached() -> None:
    encoder = EncoderPool().get()
    first = encoder.encode(["my card has not arrived", "hello"])
    assert first.shape == (2, 384)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-4)
    model = encoder._model
    encoder._model = None  # a cache miss would now fail loudly
    try:
        assert np.array_equal(encoder.encode(["hello"]), first[1:])
    finally:
        encoder._model = model


@pytest.mark.parametrize("classes", [2, 5])
def test_a_head_saved_as_arrays_predicts_what_scikit_learn_predicts(
    classes: int, tmp_path: Path
) -> None:
    from sklearn.linear_model import LogisticRegression

    from textloop.models.linear_head import LinearHead

    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 16))
    labels = np.array([f"class {i}" for i in rng.integers(0, classes, size=200)])
    fitted = LogisticRegression(C=10.0, max_iter=1000).fit(features, labels)
    LinearHead.of(fitted).save(tmp_path / "head.npz")
    head = LinearHead.load(tmp_path / "head.npz")
    assert list(head.classes_) == list(fitted.classes_)
    assert np.allclose(head.predict_proba(features), fitted.predict_proba(features), atol=1e-9)


class CountingEncoder(CachedEncoder):
    """A deterministic encoder for the cache's tests: a text's vector is its length."""

    def __init__(self, cache_size: int) -> None:
        super().__init__(cache_size)
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([[float(len(text))] for text in texts])


def test_only_texts_the_cache_does_not_hold_are_encoded() -> None:
    encoder = CountingEncoder(cache_size=2)
    first = encoder.encode(["a", "bb", "a"])
    assert first.tolist() == [[1.0], [2.0], [1.0]] and first.dtype == np.float32
    assert encoder.encode(["bb", "ccc"]).tolist() == [[2.0], [3.0]]  # "a" leaves the cache
    encoder.encode(["a", "ccc"])
    assert encoder.calls == [["a", "bb"], ["ccc"], ["a"]]
    assert encoder.embedded == 4 and encoder.cache_size == 2


def test_a_cache_of_size_zero_encodes_every_time() -> None:
    encoder = CountingEncoder(cache_size=0)
    encoder.encode(["a"])
    encoder.encode(["a"])
    assert encoder.embedded == 2
