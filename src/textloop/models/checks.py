"""A conformance check any model family, built-in or a user's own, can be run through.

It trains on a tiny synthetic problem and checks the contract of ``base.TextClassifier``: the
constructor validates nothing, ``fit`` returns ``self``, probabilities have the right shape and
sum to one, and ``save``/``load`` reproduce the same predictions.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from textloop.models.base import ModelResources, load_model, save_model

TRAIN = [
    ("the match ended with a late goal", "sport"),
    ("the striker scored twice in the final", "sport"),
    ("fans cheered as the team won the cup", "sport"),
    ("the coach praised the defenders after the game", "sport"),
    ("shares fell after the quarterly earnings report", "business"),
    ("the bank raised interest rates again", "business"),
    ("investors sold stock as markets slid", "business"),
    ("the company reported record profits this year", "business"),
    ("the new phone has a faster chip and better camera", "tech"),
    ("researchers released an open source language model", "tech"),
    ("the software update fixes a security flaw", "tech"),
    ("engineers built a smaller and cheaper processor", "tech"),
]


def check_classifier(model: Any, resources: ModelResources | None = None) -> None:
    """Raise ``AssertionError`` naming the first broken promise of ``model``'s family."""
    texts = [text for text, _ in TRAIN]
    labels = [label for _, label in TRAIN]
    assert not hasattr(model, "classes_"), "the constructor must not learn anything"
    assert isinstance(model.get_params(), dict), "get_params() must return a dict"
    assert model.fit(texts, labels) is model, "fit() must return self"
    assert sorted(model.classes_) == sorted(set(labels)), "classes_ must list every label once"
    probabilities = model.predict_proba(texts)
    assert probabilities.shape == (len(texts), len(model.classes_)), "wrong predict_proba shape"
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5), "rows must sum to one"
    assert ((probabilities >= 0) & (probabilities <= 1)).all(), "probabilities out of [0, 1]"
    with tempfile.TemporaryDirectory() as folder:
        save_model(model, Path(folder))
        loaded = load_model(Path(folder), resources or ModelResources())
        assert list(loaded.classes_) == list(model.classes_), "load() changed classes_"
        reloaded = loaded.predict_proba(texts)
        assert np.allclose(reloaded, probabilities, atol=1e-5), "load() changed predictions"
