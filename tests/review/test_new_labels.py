"""Adding a label to a classifier: one check of the name wherever it comes from, and a label
added is kept whole beside the others."""

from __future__ import annotations

import pytest

from textloop.errors import InvalidRequest
from textloop.review.new_labels import MAX_NAME_LENGTH, add_label
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.stored_labels import Mode
from textloop.store.tables import Classifier


@pytest.fixture
def topics(store: Store) -> Store:
    with store.session() as session:
        session.add(Classifier(name="topics", labels=["finance", "sport"]))
    return store


def test_a_new_name_is_added_stripped_beside_the_others(topics: Store) -> None:
    with topics.session() as session:
        assert add_label(session, get_classifier(session, "topics"), "  weather ") == "weather"
    with topics.session() as session:
        assert get_classifier(session, "topics").labels == ["finance", "sport", "weather"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("   ", "needs a name"),
        ("sport", "is a label of 'topics' already"),
        ("x" * (MAX_NAME_LENGTH + 1), f"at most {MAX_NAME_LENGTH} characters"),
        ("two\nlines", "control characters"),
        ("a\x1fb", "control characters"),
    ],
)
def test_a_bad_name_is_refused_and_nothing_changes(topics: Store, name: str, reason: str) -> None:
    with topics.session() as session, pytest.raises(InvalidRequest, match=reason):
        add_label(session, get_classifier(session, "topics"), name)
    with topics.session() as session:
        assert get_classifier(session, "topics").labels == ["finance", "sport"]


def test_a_multi_label_classifier_refuses_the_separator_its_sets_are_written_with(
    store: Store,
) -> None:
    with store.session() as session:
        session.add(Classifier(name="tags", labels=["a"], mode=Mode.MULTI_LABEL))
    with store.session() as session, pytest.raises(InvalidRequest, match=r"may not hold '\|'"):
        add_label(session, get_classifier(session, "tags"), "b|c")
