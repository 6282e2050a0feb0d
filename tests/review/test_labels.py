"""An unknown label in feedback or a review decision is refused with the labels to choose from."""

from __future__ import annotations

import pytest

from textloop.errors import InvalidRequest
from textloop.review.labels import require_known_label
from textloop.store.tables import Classifier


def test_the_error_lists_the_valid_labels() -> None:
    classifier = Classifier(name="topics", labels=["weather", "finance", "sport"])
    with pytest.raises(InvalidRequest) as raised:
        require_known_label(classifier, "golf")
    assert raised.value.message == (
        "'golf' is not a label of 'topics'; its labels are: finance, sport, weather"
    )
    assert raised.value.field == "label"
    require_known_label(classifier, "sport")


def test_with_77_labels_it_lists_20_and_says_how_many_more() -> None:
    classifier = Classifier(name="banking", labels=[f"intent_{i:02d}" for i in range(77)])
    with pytest.raises(InvalidRequest) as raised:
        require_known_label(classifier, "nope")
    message = raised.value.message
    assert "intent_00, intent_01" in message and "intent_19 and 57 more" in message
    assert "intent_20" not in message
