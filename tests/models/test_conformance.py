"""Every model family passes the same contract check a user's own family would."""

import pytest

from textloop.errors import NotFound
from textloop.models import families
from textloop.models.checks import check_classifier


@pytest.mark.parametrize("family", ["ngram", "majority"])
def test_fast_families_follow_the_contract(family: str) -> None:
    check_classifier(families.create(family))


@pytest.mark.slow
def test_embedding_family_follows_the_contract() -> None:
    check_classifier(families.create("embedding"))


def test_a_users_family_registers_like_the_built_ins() -> None:
    from textloop.models.baseline import MajorityClassifier

    families.register("mine")(type("Mine", (MajorityClassifier,), {}))
    try:
        assert "mine" in families.names()
        check_classifier(families.create("mine"))
    finally:
        families.unregister("mine")


def test_unknown_family_names_the_known_ones() -> None:
    with pytest.raises(NotFound, match="embedding, majority, ngram"):
        families.get("bert")
