"""Krippendorff's alpha over label sets: the published nominal value on single labels, and partial
credit for sets that overlap."""

from typing import Literal

import pytest

from textloop.review.set_agreement import (
    LabelSet,
    jaccard_distance,
    krippendorff_alpha,
    masi_distance,
)

Units = list[list[LabelSet | None]]

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four observers,
# twelve units, nominal values, "." where an observer gave none. Published alpha: 0.743.
RELIABILITY_DATA = """
1 2 3 3 2 1 4 1 2 . . .
1 2 3 3 2 2 4 1 2 5 . 3
. 3 3 3 2 3 4 2 2 5 1 .
1 2 3 3 2 4 4 1 2 5 1 .
"""


def published_units() -> Units:
    observers = [line.split() for line in RELIABILITY_DATA.strip().splitlines()]
    return [
        [None if row[unit] == "." else (row[unit],) for row in observers]
        for unit in range(len(observers[0]))
    ]


@pytest.mark.parametrize("distance", ["masi", "jaccard"])
def test_single_labels_give_the_published_nominal_alpha(
    distance: Literal["masi", "jaccard"],
) -> None:
    # one label per answer: both distances are 0 for the same label and 1 for another
    alpha = krippendorff_alpha(published_units(), distance)
    assert alpha == pytest.approx(0.743, abs=5e-4)


def test_a_text_with_one_answer_cannot_show_agreement_and_changes_nothing() -> None:
    units = published_units()
    assert krippendorff_alpha([*units, [("9",)], [None, ("1",), None]]) == pytest.approx(
        krippendorff_alpha(units)
    )


def test_a_missing_answer_is_the_same_as_no_entry() -> None:
    with_none: Units = [[("a",), None, ("a", "b")], [("b",), ("b",), None]]
    without: Units = [[("a",), ("a", "b")], [("b",), ("b",)]]
    assert krippendorff_alpha(with_none) == krippendorff_alpha(without)


def test_overlapping_sets_get_partial_credit_computed_by_hand() -> None:
    # pairable answers {a}, {a,b} | {b}, {b}; n = 4.
    # MASI: d({a},{a,b}) = 1 - 1/2 * 2/3 = 2/3, d({a},{b}) = 1, d({a,b},{b}) = 2/3
    #   D_o = (2 * 2/3) / 4 = 1/3; D_e = 2 * (2/3 + 1 + 1 + 2/3 + 2/3) / (4 * 3) = 2/3
    # Jaccard: d({a},{a,b}) = 1/2, d({a},{b}) = 1, d({a,b},{b}) = 1/2
    #   D_o = (2 * 1/2) / 4 = 1/4; D_e = 2 * (1/2 + 1 + 1 + 1/2 + 1/2) / 12 = 7/12
    units: Units = [[("a",), ("a", "b")], [("b",), ("b",)]]
    assert krippendorff_alpha(units, "masi") == pytest.approx(1 - (1 / 3) / (2 / 3))
    assert krippendorff_alpha(units, "jaccard") == pytest.approx(1 - (1 / 4) / (7 / 12))


def test_a_reviewer_who_adds_a_label_disagrees_less_than_one_who_swaps_it() -> None:
    others = [[("c",), ("c",)], [("d",), ("d",)]]
    added = krippendorff_alpha([[("a",), ("a", "b")], *others])
    swapped = krippendorff_alpha([[("a",), ("b",)], *others])
    assert added is not None and swapped is not None
    assert added > swapped


def test_perfect_agreement_is_one() -> None:
    assert krippendorff_alpha([[("a",), ("a",)], [("a", "b"), ("b", "a")], [(), ()]]) == 1.0


def test_the_empty_set_is_an_answer_that_disagrees_with_any_label() -> None:
    alpha = krippendorff_alpha([[(), ("a",)], [(), ()], [("a",), ("a",)]])
    assert alpha is not None and alpha < 1.0
    assert masi_distance((), ("a",)) == jaccard_distance((), ("a",)) == 1.0


def test_alpha_is_undefined_without_two_pairable_answers_or_without_variation() -> None:
    assert krippendorff_alpha([]) is None
    assert krippendorff_alpha([[("a",)], [("b",), None]]) is None
    assert krippendorff_alpha([[("a",), ("a",)], [("a",), ("a",)]]) is None


def test_sets_may_come_as_tuples_in_any_order_or_as_frozensets() -> None:
    as_tuples: Units = [[("a", "b"), ("b",)], [("c",), ("c",)]]
    as_frozensets = [[frozenset({"b", "a"}), frozenset({"b"})], [frozenset({"c"})] * 2]
    assert krippendorff_alpha(as_tuples) == krippendorff_alpha(as_frozensets)


def test_masi_scales_jaccard_by_how_the_sets_overlap() -> None:
    assert masi_distance({"a", "b"}, {"b", "a"}) == 0.0
    assert masi_distance((), ()) == 0.0
    assert masi_distance({"a"}, {"a", "b"}) == pytest.approx(1 - 1 / 2 * 2 / 3)  # subset
    assert masi_distance({"a", "b"}, {"b", "c"}) == pytest.approx(1 - 1 / 3 * 1 / 3)  # overlap
    assert masi_distance({"a"}, {"b"}) == 1.0  # disjoint
    assert jaccard_distance({"a", "b"}, {"b", "c"}) == pytest.approx(2 / 3)
