"""A text's split depends only on the text, so growing a dataset never moves a text."""

from collections import Counter

from textloop.data.splits import assign_split, normalize_text, text_hash

FRACTIONS = {"train": 0.8, "validation": 0.1, "test": 0.1}


def test_the_same_text_always_lands_in_the_same_split() -> None:
    hashed = text_hash("where is my card?")
    assert {assign_split(hashed, FRACTIONS) for _ in range(5)} == {assign_split(hashed, FRACTIONS)}


def test_whitespace_and_unicode_forms_do_not_change_the_hash() -> None:
    assert text_hash("caf\u00e9  au lait ") == text_hash("cafe\u0301 au lait")
    assert normalize_text("  a \n b\t") == "a b"


def test_splits_follow_the_fractions_on_many_texts() -> None:
    counts = Counter(assign_split(text_hash(f"text number {i}"), FRACTIONS) for i in range(20_000))
    assert abs(counts["train"] / 20_000 - 0.8) < 0.01
    assert abs(counts["validation"] / 20_000 - 0.1) < 0.01
    assert abs(counts["test"] / 20_000 - 0.1) < 0.01
