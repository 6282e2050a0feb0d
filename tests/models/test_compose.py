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
