"""Composing the saved model: which families are worth fitting, and which one wins."""

from textloop.models import families
from textloop.models.checks import TRAIN
from textloop.models.compose import MIN_VALIDATION_PER_LABEL, compose, worth_fitting

TEXTS = [text for text, _ in TRAIN]
LABELS = [label for _, label in TRAIN]


def test_fine_tuning_joins_several_candidates_only_where_labels_per_class_are_few() -> None:
    few = [f"label {i % 77}" for i in range(770)]  # 10 per label
    many = [f"label {i % 77}" for i in range(77 * 130)]  # Banking77's whole train file
    candidates = ("ngram", "embedding", "finetuned")
    assert worth_fitting(candidates, few)[0] == list(candidates)
    kept, skipped = worth_fitting(candidates, many)
    assert kept == ["ngram", "embedding"]
    assert skipped["finetuned"] == "pays with up to 50 texts per label among several, has 130"
    assert worth_fitting(("finetuned",), many)[0] == ["finetuned"]  # named alone: always
    assert "needs 200 texts" in worth_fitting(candidates, few[:100])[1]["finetuned"]


def test_a_validation_split_too_small_to_tell_apart_takes_the_measured_prior() -> None:
    """About one validation text per label, as a 10-per-class sample leaves: whichever does
    better there does so by chance, so the family measured best with few labels is taken."""
    sure = families.create("ngram").fit(TEXTS, LABELS)
    weak = families.create("majority").fit(TEXTS, LABELS)
    fitted = {"ngram": sure, "embedding": weak}  # the prior ranks embedding over ngram
    small = compose(fitted, TEXTS[:6], LABELS[:6])
    assert small.winner == "embedding" and "ensemble" not in small.validation
    assert small.validation["ngram"]["accuracy"] > small.validation["embedding"]["accuracy"]

    enough = MIN_VALIDATION_PER_LABEL // 2 + 1  # TRAIN holds 4 texts per label: repeat it
    large = compose(fitted, TEXTS * enough, LABELS * enough)
    assert large.winner in ("ngram", "ensemble") and "ensemble" in large.validation


def test_refitting_keeps_every_choice_and_teaches_the_members_the_validation_labels() -> None:
    from textloop.models.base import ModelResources
    from textloop.models.calibrated import CalibratedClassifier
    from textloop.models.compose import refit
    from textloop.models.ensemble import EnsembleClassifier
    from textloop.models.tags import FamilyTags

    train = [(t, label) for t, label in TRAIN if label != "tech"] * 3
    fitted = {
        "ngram": families.create("ngram").fit(*zip(*train, strict=True)),
        "majority": families.create("majority").fit(*zip(*train, strict=True)),
    }
    composed = CalibratedClassifier.fitted(EnsembleClassifier.from_fitted(
        list(fitted.values()), [0.7, 0.3]), 1.5)  # fmt: skip
    again = refit(composed, TEXTS * 3, LABELS * 3, ModelResources())
    assert isinstance(again, CalibratedClassifier) and again.temperature_ == 1.5
    assert again.model.weights_ == composed.model.weights_
    assert "tech" in again.classes_ and "tech" not in composed.classes_  # validation's label
    assert all(a is not b for a, b in zip(again.model.models_, composed.model.models_, strict=True))

    kept = type("Kept", (type(fitted["majority"]),), {"tags": FamilyTags(refits=False)})
    dear = kept().fit(TEXTS, LABELS)
    assert refit(dear, TEXTS * 3, LABELS * 3, ModelResources()) is dear
