"""The embedding model learns from unlabelled pool texts it is already sure of, when asked."""

import numpy as np
import pytest

from textloop.models import families
from textloop.models.checks import TRAIN

pytestmark = pytest.mark.slow

LABELLED = TRAIN[::2]
POOL = [text for text, _ in TRAIN[1::2]]


def fitted(self_training: float | None, unlabelled: list[str]):
    model = families.create("embedding", self_training=self_training)
    return model.fit([t for t, _ in LABELLED], [label for _, label in LABELLED], unlabelled)


def test_without_a_threshold_the_pool_is_ignored() -> None:
    plain = fitted(None, [])
    ignoring = fitted(None, POOL)
    assert np.allclose(plain.predict_proba(POOL), ignoring.predict_proba(POOL))


def test_confident_pool_texts_join_training_with_the_predicted_label() -> None:
    plain = fitted(None, [])
    learning = fitted(0.0, POOL)  # every pool text is confident enough
    before, after = plain.predict_proba(POOL), learning.predict_proba(POOL)
    assert (before.argmax(axis=1) == after.argmax(axis=1)).all()
    assert after.max(axis=1).mean() > before.max(axis=1).mean()  # it trained on its own guesses


def test_labelled_texts_in_the_pool_are_not_guessed_at() -> None:
    labelled_texts = [text for text, _ in LABELLED]
    assert np.allclose(
        fitted(0.0, labelled_texts).predict_proba(POOL), fitted(None, []).predict_proba(POOL)
    )
