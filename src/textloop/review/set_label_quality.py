"""Finding label sets that are probably wrong: confident learning label by label.

A multi-label classifier's set says, for every label, whether the text carries it. Each label is
then a yes/no question of its own, as cleanlab's multi-label ``find_label_issues`` treats it
(Northcutt et al., 2021): every labelled text is scored out of fold by a family that learns label
sets (one independent probability per label), and for each label ``j`` the binary confident
joint has two thresholds, the mean probability of ``j`` on the texts that carry it and the mean
probability of not-``j`` on the texts that do not. A text's presence or absence of ``j`` is
suspect when the other side reaches its own threshold and is the likelier one. A set with any
suspect label is suspect as a whole; what it likely is, is the set with those labels flipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import KFold

from textloop.models.base import ModelResources, families
from textloop.models.compose import require_label_set_learners
from textloop.models.label_heads import indicators, label_names
from textloop.store.stored_labels import LabelSet, label_set


@dataclass(frozen=True)
class SetSuspect:
    index: int
    given: LabelSet
    likely: LabelSet  # the given set with its suspect labels flipped
    margin: float  # the largest of the flipped labels' wins, out of fold


def out_of_fold_set_probabilities(
    texts: Sequence[str],
    label_sets: Sequence[LabelSet],
    family: str,
    folds: int,
    resources: ModelResources | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, list[str]]:
    """Each text's probability of each label from a model fitted on the other folds.

    The folds are plain shuffled ones: a text may carry several labels, so there is no one class
    to stratify on. A label that no text of a fold's training part carries has no column in
    that fold's model; its cells stay NaN (not judged) rather than read as a confident "no".
    """
    require_label_set_learners([family])
    text_list, set_list = list(texts), [tuple(labels) for labels in label_sets]
    classes = label_names(set_list)
    probabilities = np.full((len(text_list), len(classes)), np.nan)
    splitter = KFold(n_splits=max(2, min(folds, len(text_list))), shuffle=True, random_state=seed)
    for train, held_out in splitter.split(text_list):
        model = families.create(family, resources)
        model.fit([text_list[i] for i in train], [set_list[i] for i in train])
        columns = [classes.index(c) for c in model.classes_]
        held_texts = [text_list[i] for i in held_out]
        probabilities[np.ix_(held_out, columns)] = model.predict_proba(held_texts)
    return probabilities, classes


def likely_set_errors(
    probabilities: np.ndarray, label_sets: Sequence[LabelSet], classes: Sequence[str]
) -> list[SetSuspect]:
    """The texts whose set some label of which is confidently contradicted, largest win first.

    ``probabilities`` are independent per label (columns in ``classes`` order; NaN: not
    judged). A side of a label with no text on it has threshold 1, as a class with no text has
    in the single-label check.
    """
    carried = indicators(label_sets, classes).astype(bool)
    judged = ~np.isnan(probabilities)
    present = np.where(judged, probabilities, 0.5)
    absent = 1.0 - present
    present_threshold = _column_means(present, carried & judged)
    absent_threshold = _column_means(absent, ~carried & judged)
    wrongly_present = carried & (absent >= absent_threshold) & (absent > present)
    wrongly_absent = ~carried & (present >= present_threshold) & (present > absent)
    suspect = judged & (wrongly_present | wrongly_absent)
    wins = np.abs(present - absent)
    suspects = []
    for i in map(int, np.flatnonzero(suspect.any(axis=1))):
        flipped = {classes[int(j)] for j in np.flatnonzero(suspect[i])}
        given = label_set(label_sets[i])
        likely = label_set(set(given) ^ flipped)
        suspects.append(SetSuspect(i, given, likely, float(wins[i, suspect[i]].max())))
    return sorted(suspects, key=lambda s: -s.margin)


def _column_means(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Each column's mean over the rows ``mask`` picks; 1 for a column it picks none of."""
    counts = mask.sum(axis=0)
    sums = np.where(mask, values, 0.0).sum(axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 1.0)
