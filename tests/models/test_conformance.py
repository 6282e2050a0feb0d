"""Every model family passes the same contract check a user's own family would."""

import pytest

from textloop.errors import NotFound
from textloop.models import families
from textloop.models.checks import check_classifier


@pytest.mark.parametrize("family", ["ngram", "majority"])
def test_fast_families_follow_the_contract(family: str) -> None:
    check_classifier(families.create(family))


def test_an_ensemble_follows_the_contract() -> None:
    check_classifier(families.create("ensemble", members=("ngram", "majority")))


@pytest.mark.slow
@pytest.mark.parametrize("family", ["embedding", "ensemble"])
def test_encoder_families_follow_the_contract(family: str) -> None:
    check_classifier(families.create(family))


@pytest.mark.slow
def test_the_fine_tuned_family_follows_the_contract() -> None:
    check_classifier(families.create("finetuned", epochs=1))  # one pass: the contract, not skill


def test_a_users_family_registers_like_the_built_ins() -> None:
    from textloop.models.baseline import MajorityClassifier

    families.register("mine")(type("Mine", (MajorityClassifier,), {}))
    try:
        assert "mine" in families.names()
        check_classifier(families.create("mine"))
    finally:
        families.unregister("mine")


def test_unknown_family_names_the_known_ones() -> None:
    with pytest.raises(
        NotFound, match="embedding, ensemble, finetuned, majority, multi-label, ngram"
    ):
        families.get("bert")


def test_an_ensemble_pools_its_members_probabilities_by_weight(tmp_path) -> None:
    import numpy as np

    from textloop.models.base import ModelResources, load_model, save_model
    from textloop.models.checks import TRAIN
    from textloop.models.ensemble import EnsembleClassifier
    from textloop.models.shared_predict import FLOOR

    texts, labels = [t for t, _ in TRAIN], [label for _, label in TRAIN]
    ngram = families.create("ngram").fit(texts, labels)
    majority = families.create("majority").fit(texts[:6], labels[:6])  # knows 2 of 3 labels
    widened = np.zeros((len(texts), 3))
    widened[:, [0, 1]] = majority.predict_proba(texts)

    geometric = EnsembleClassifier.from_fitted([ngram, majority], [3, 1])
    assert geometric.classes_ == ngram.classes_ == ["business", "sport", "tech"]
    logs = 0.75 * np.log(ngram.predict_proba(texts)) + 0.25 * np.log(np.clip(widened, FLOOR, 1))
    expected = np.exp(logs) / np.exp(logs).sum(axis=1, keepdims=True)
    assert np.allclose(geometric.predict_proba(texts), expected)

    arithmetic = EnsembleClassifier.from_fitted([ngram, majority], [3, 1], "arithmetic")
    expected = 0.75 * ngram.predict_proba(texts) + 0.25 * widened
    assert np.allclose(arithmetic.predict_proba(texts), expected)

    # An ensemble saved before pooling was recorded keeps the arithmetic mean it was made with.
    save_model(arithmetic, tmp_path / "old")
    (tmp_path / "old" / "ensemble.json").write_text('{"weights": [0.75, 0.25]}')
    assert np.allclose(
        load_model(tmp_path / "old", ModelResources()).predict_proba(texts), expected
    )


def test_every_built_in_family_declares_its_tags_and_the_check_holds_it_to_them() -> None:
    from textloop.models.checks import check_tags
    from textloop.models.tags import FamilyTags, tags_of

    for name in families.names():
        assert isinstance(tags_of(families.get(name)), FamilyTags)
    assert tags_of(families.get("ngram")).first_stage
    assert tags_of(families.get("finetuned")).improves_on == "embedding"

    from textloop.models.baseline import MajorityClassifier

    lying = type("Lying", (MajorityClassifier,), {"tags": FamilyTags(search_space={"C": [1.0]})})
    with pytest.raises(AssertionError, match=r"search_space names no parameter.*\['C'\]"):
        check_tags(lying())
    untyped = type("Untyped", (MajorityClassifier,), {"tags": {"first_stage": True}})
    with pytest.raises(AssertionError, match="tags must be a FamilyTags"):
        check_tags(untyped())


def test_a_family_written_before_tags_is_read_from_its_old_attributes() -> None:
    from textloop.models.baseline import MajorityClassifier
    from textloop.models.tags import tags_of

    old = type("Old", (MajorityClassifier,), {"first_stage": True, "min_train_texts": 50})
    assert tags_of(old).first_stage and tags_of(old()).min_train_texts == 50
