"""How far reviewers agree on label sets: Krippendorff's alpha with a distance between sets.

Cohen's kappa (``stats``) counts two answers as agreeing or not; two reviewers who answer
``{billing}`` and ``{billing, refund}`` half agree, and a set distance says by how much. Alpha
takes any number of reviewers per text and texts that some reviewers skipped, and is 1 for
perfect agreement, 0 for agreement at chance level, below 0 for systematic disagreement:

    alpha = 1 - D_o / D_e

where D_o is the mean distance between two answers to the same text, each text weighted by its
number of answers, and D_e the mean distance between any two answers of the whole data
(Krippendorff, "Computing Krippendorff's Alpha-Reliability", 2011). No library in the
environment computes it for sets (nltk's ``AnnotationTask`` does, and is not a dependency).

MASI (Passonneau, 2006) is the default distance: Jaccard's, scaled by how the sets overlap
(equal, one inside the other, overlapping, disjoint), so a reviewer who adds a label disagrees
less than one who swaps it. The empty set ("no label applies") is an answer like any other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Literal

LabelSet = frozenset[str] | tuple[str, ...]


def jaccard_distance(first: Iterable[str], second: Iterable[str]) -> float:
    """The share of the labels in either set that are not in both; two empty sets are equal, at
    distance 0 (Jaccard's 0/0)."""
    a, b = frozenset(first), frozenset(second)
    if a == b:
        return 0.0
    return 1.0 - len(a & b) / len(a | b)


def masi_distance(first: Iterable[str], second: Iterable[str]) -> float:
    """1 - J * M: Jaccard's similarity J times M, 1 for equal sets, 2/3 when one holds the
    other, 1/3 when they only overlap, 0 when disjoint (Passonneau, 2006; nltk rounds these to
    0.67 and 0.33)."""
    a, b = frozenset(first), frozenset(second)
    if a == b:
        return 0.0
    common = a & b
    if a <= b or b <= a:
        monotonicity = 2 / 3
    elif common:
        monotonicity = 1 / 3
    else:
        return 1.0
    return 1.0 - len(common) / len(a | b) * monotonicity


DISTANCES: dict[str, Callable[[Iterable[str], Iterable[str]], float]] = {
    "masi": masi_distance,
    "jaccard": jaccard_distance,
}


def krippendorff_alpha(
    units: Sequence[Sequence[LabelSet | None]],
    distance: Literal["masi", "jaccard"] = "masi",
) -> float | None:
    """Alpha over ``units``: one per text, holding each reviewer's answer (``None``, or no entry,
    where a reviewer gave none). Only texts with two answers or more can show agreement; None
    when fewer than two such answers exist, or when every answer is the same set (D_e = 0:
    there was no variation to agree on, and alpha is undefined)."""
    delta = DISTANCES[distance]
    given = [[frozenset(answer) for answer in unit if answer is not None] for unit in units]
    pairable = [answers for answers in given if len(answers) >= 2]
    total = sum(len(answers) for answers in pairable)
    if total < 2:
        return None
    observed = 0.0
    for answers in pairable:
        within = sum(delta(a, b) for i, a in enumerate(answers) for b in answers[i + 1 :])
        observed += 2 * within / (len(answers) - 1)  # each pair counts in both orders
    observed /= total
    # Over every pair of answers in the whole data, computed per pair of distinct sets.
    frequency = Counter(answer for answers in pairable for answer in answers)
    sets = list(frequency)
    across = sum(
        frequency[a] * frequency[b] * delta(a, b) for i, a in enumerate(sets) for b in sets[i + 1 :]
    )
    expected = 2 * across / (total * (total - 1))
    if expected == 0:
        return None
    return 1.0 - observed / expected
