"""Finding labels that are probably wrong, confident-learning style, before they train a model.

Every labelled text is scored by a model that never saw it (k-fold, out of fold). A class's
threshold is the mean probability the model gives that class on the texts labelled with it. A
text is suspect when some other class reaches its own threshold and beats the given label: the
off-diagonal of the "confident joint" (Northcutt et al., 2021). Suspects are ranked by how far
the other class wins. Reviewed labels that look wrong go to a second review instead of training.
A multi-label classifier's sets are judged label by label (``set_label_quality``) and go to a
second review alike, suggesting the set with its suspect labels flipped.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedKFold

from textloop.data.datasets import load_splits
from textloop.models.base import ModelResources, families
from textloop.review.set_label_quality import likely_set_errors, out_of_fold_set_probabilities
from textloop.review.tasks import unmerged_reviewed
from textloop.store.database import Store
from textloop.store.queries import get_classifier, latest_dataset_version
from textloop.store.stored_labels import Mode, decode, encode
from textloop.store.tables import ReviewStatus, ReviewTask, TaskSource

FOLDS = 5


@dataclass(frozen=True)
class Suspect:
    index: int
    given: str  # stored form: a multi-label classifier's set as ``stored_labels.encode`` holds it
    likely: str
    margin: float  # probability of ``likely`` minus that of ``given``, out of fold


def out_of_fold_probabilities(
    texts: Sequence[str],
    labels: Sequence[str],
    family: str = "ngram",
    folds: int = FOLDS,
    resources: ModelResources | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, list[str]]:
    text_list, label_list = list(texts), list(labels)
    classes = sorted(set(label_list))
    probabilities = np.zeros((len(text_list), len(classes)))
    rarest = min(Counter(label_list).values())
    splitter = StratifiedKFold(n_splits=max(2, min(folds, rarest)), shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # a class rarer than the folds is simply split unevenly
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        splits = list(splitter.split(text_list, label_list))
    for train, held_out in splits:
        model = families.create(family, resources)
        model.fit([text_list[i] for i in train], [label_list[i] for i in train])
        columns = [classes.index(c) for c in model.classes_]
        held_texts = [text_list[i] for i in held_out]
        probabilities[np.ix_(held_out, columns)] = model.predict_proba(held_texts)
    return probabilities, classes


def likely_label_errors(
    probabilities: np.ndarray, labels: Sequence[str], classes: Sequence[str]
) -> list[Suspect]:
    index = {label: i for i, label in enumerate(classes)}
    given = np.array([index[label] for label in labels])
    thresholds = np.array(
        [
            probabilities[given == j, j].mean() if (given == j).any() else 1.0
            for j in range(len(classes))
        ]
    )
    above = probabilities >= thresholds  # classes each text confidently belongs to
    suspects = []
    for i, label in enumerate(given):
        confident = np.flatnonzero(above[i])
        if not len(confident):
            continue
        likely = int(confident[np.argmax(probabilities[i, confident])])
        if likely != label:
            margin = float(probabilities[i, likely] - probabilities[i, label])
            suspects.append(Suspect(i, classes[label], classes[likely], margin))
    return sorted(suspects, key=lambda s: -s.margin)


def suspect_labels(
    texts: list[str], labels: list[str], family: str, resources: ModelResources | None
) -> list[Suspect]:
    probabilities, classes = out_of_fold_probabilities(texts, labels, family, resources=resources)
    return likely_label_errors(probabilities, labels, classes)


def suspect_sets(
    texts: list[str], labels: list[str], family: str, resources: ModelResources | None
) -> list[Suspect]:
    """``suspect_labels`` for stored label sets: judged label by label, named in stored form."""
    label_sets = [decode(label) for label in labels]
    probabilities, classes = out_of_fold_set_probabilities(
        texts, label_sets, family, FOLDS, resources
    )
    return [
        Suspect(s.index, encode(s.given), encode(s.likely), s.margin)
        for s in likely_set_errors(probabilities, label_sets, classes)
    ]


@dataclass(frozen=True)
class CheckResult:
    checked: int
    flagged: list[str]  # ids of the reviewed tasks sent to a second review


def check_reviewed_labels(
    store: Store, name: str, family: str = "ngram", resources: ModelResources | None = None
) -> CheckResult:
    """Score agreed review labels out of fold beside the newest dataset version's labels, and
    send the suspect ones to a second review (the task becomes ``flagged``, not training data).

    The scoring fits several models, so it runs between two short transactions, not inside
    one: on SQLite an open write transaction would hold every other writer back meanwhile.
    """
    with store.session() as session:
        classifier = get_classifier(session, name)
        sets = classifier.mode == Mode.MULTI_LABEL
        classifier_id = classifier.id
        reviewed = [
            (task.id, task.text, task.final_label or "")
            for task in session.scalars(  # (merged ones were checked before their merge)
                unmerged_reviewed(classifier).where(ReviewTask.source != TaskSource.SECOND_REVIEW)
            )
        ]
        if not reviewed:
            return CheckResult(0, [])
        splits = load_splits(session, latest_dataset_version(session, classifier).id)
    texts = [text for _, text, _ in reviewed]
    labels = [label for _, _, label in reviewed]
    for split in ("train", "validation"):
        split_texts, split_labels = splits.get(split, ([], []))
        texts += split_texts
        labels += split_labels
    find = suspect_sets if sets else suspect_labels
    suspects = [s for s in find(texts, labels, family, resources) if s.index < len(reviewed)]
    flagged = []
    with store.session() as session:
        for suspect in suspects:
            task = session.get(ReviewTask, reviewed[suspect.index][0], with_for_update=True)
            if task is None or task.status != ReviewStatus.DONE or task.merged_into is not None:
                continue  # settled otherwise meanwhile
            task.status = ReviewStatus.FLAGGED
            session.add(
                ReviewTask(
                    classifier_id=classifier_id,
                    source=TaskSource.SECOND_REVIEW,
                    text=task.text,
                    suggested_label=suspect.likely,
                    confidence=None,
                    reported_label=suspect.given,
                )
            )
            flagged.append(task.id)
    return CheckResult(len(reviewed), flagged)
