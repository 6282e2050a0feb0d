"""The registry owns every alias: production takes only a blessed version unless forced, the
shadow is never the production version, and each move is recorded for the deployment history."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.errors import InvalidRequest, NotBlessed
from textloop.models.base import families
from textloop.registry.aliases import (
    ALIASES,
    PRODUCTION,
    SHADOW,
    clear_shadow,
    set_alias,
    set_shadow,
)
from textloop.registry.models import register_model
from textloop.store import Store
from textloop.store.queries import aliased_model, get_classifier, latest_dataset_version
from textloop.store.tables import Artifact

TEXTS = ["the striker scored", "shares fell today", "a late goal won it", "the bank raised rates"]
LABELS = ["sport", "finance", "sport", "finance"]


@pytest.fixture
def versions(store: Store, settings: Settings, classifier_id: int) -> Store:
    """Two registered versions of ``topics``: 1 blessed, 2 without a verdict."""
    with store.session() as session:
        classifier = get_classifier(session, "topics")
        dataset = latest_dataset_version(session, classifier)
        for blessing in ({"blessed": True, "reasons": []}, None):
            model = families.get("ngram")().fit(TEXTS, LABELS)
            row = register_model(session, artifacts_for(settings), classifier, dataset, model, {})
            row.blessing = blessing
    return store


def versions_at(store: Store) -> dict[str, int]:
    with store.session() as session:
        classifier = get_classifier(session, "topics")
        found = {alias: aliased_model(session, classifier, alias) for alias in ALIASES}
        return {alias: model.version for alias, model in found.items() if model is not None}


def test_production_takes_a_blessed_version_and_an_unblessed_one_only_when_forced(
    versions: Store,
) -> None:
    with versions.session() as session:
        assert set_alias(session, "topics", PRODUCTION, 1).previous_version is None
    with versions.session() as session, pytest.raises(NotBlessed, match="no blessing verdict"):
        set_alias(session, "topics", PRODUCTION, 2)
    assert versions_at(versions) == {PRODUCTION: 1}
    with versions.session() as session:
        moved = set_alias(session, "topics", PRODUCTION, 2, force=True)
    assert (moved.version, moved.previous_version) == (2, 1)
    with versions.session() as session:
        recorded = session.scalars(select(Artifact.properties).where(Artifact.type == "deployment"))
        assert [(p["version"], p["forced"]) for p in recorded] == [(1, False), (2, True)]


def test_the_shadow_is_never_the_production_version_and_is_cleared_only_when_named(
    versions: Store,
) -> None:
    with versions.session() as session:
        set_alias(session, "topics", PRODUCTION, 1)
    with versions.session() as session, pytest.raises(InvalidRequest, match="production already"):
        set_shadow(session, "topics", 1)
    with versions.session() as session:
        assert set_shadow(session, "topics", None) == 2  # the newest
    with versions.session() as session:
        clear_shadow(session, "topics", 1)  # not the shadow: nothing changes
    assert versions_at(versions) == {PRODUCTION: 1, SHADOW: 2}
    with versions.session() as session:
        clear_shadow(session, "topics", 2)
    assert versions_at(versions) == {PRODUCTION: 1}
