"""A conformance check any model family, built-in or a user's own, can be run through.

It trains on a tiny synthetic problem and checks the contract of ``base.TextClassifier``: the
constructor validates nothing, ``fit`` returns ``self``, probabilities have the right shape and
sum to one, and ``save``/``load`` reproduce the same predictions. It also holds the family to
its tags (``tags.FamilyTags``): each one it declares is a promise the pipeline acts on.
"""

from __future__ import annotations

import inspect
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from textloop.models.base import ModelResources, families, load_model, save_model
from textloop.models.tags import FamilyTags, tags_of

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
    check_tags(model)
    if tags_of(model).learns_from_unlabelled:
        fitted = model.fit(texts, labels, unlabelled=[f"{text} again" for text in texts[:4]])
        assert fitted is model, "fit(..., unlabelled=...) must return self"
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


def check_tags(model: Any) -> None:
    """The family's tags are typed and true of its constructor and parameters."""
    cls = type(model)
    declared = getattr(cls, "tags", None)
    assert declared is None or isinstance(declared, FamilyTags), "tags must be a FamilyTags"
    tags = tags_of(cls)
    parameters = inspect.signature(cls.__init__).parameters
    if tags.needs_resources:
        assert "resources" in parameters, "needs_resources: the constructor must take resources"
    unknown = set(tags.search_space) - set(model.get_params())
    assert not unknown, f"search_space names no parameter of the family: {sorted(unknown)}"
    assert all(tags.search_space.values()), "search_space must give each parameter values"
    if tags.learns_from_unlabelled:
        fit = inspect.signature(cls.fit).parameters
        assert "unlabelled" in fit, "learns_from_unlabelled: fit() must take unlabelled="
    assert tags.min_train_texts >= 0, "min_train_texts must not be negative"
    if tags.improves_on is not None:
        assert tags.improves_on in families.names(), (
            f"improves_on names no family: {tags.improves_on!r}"
        )
