"""Which label of a classifier's data marks texts that fit none of its labels, if one does.

Some data sets carry out-of-scope examples under a label of their own (``oos``, ``other``). A
training that names it (``train --out-of-scope-label``) checks that its dataset version holds
rows of it and stores it as the classifier's setting (``classifiers.out_of_scope_label``), so a
retrain treats the label alike; ``""`` clears it. The model still learns the label as a class;
the out-of-scope detector answers it as "out of scope" (``models.out_of_scope``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.errors import InvalidRequest
from textloop.store.stored_labels import Mode
from textloop.store.tables import Classifier, DatasetVersion, Example


def resolve_out_of_scope_label(
    session: Session, dataset: DatasetVersion, given: str | None
) -> str | None:
    """The label to answer "out of scope": ``given`` (checked, then stored; ``""`` clears the
    setting) or else the stored setting."""
    classifier = session.get(Classifier, dataset.classifier_id)
    assert classifier is not None
    if given is None:
        return classifier.out_of_scope_label
    label = given.strip() or None
    if label is not None:
        if classifier.mode == Mode.MULTI_LABEL:
            raise InvalidRequest(
                "an out-of-scope label is for a single-label classifier; a multi-label one "
                "answers the empty set for a text no label fits",
                field="out_of_scope_label",
            )
        held = session.scalar(
            select(Example.id)
            .where(Example.dataset_version_id == dataset.id, Example.label == label)
            .limit(1)
        )
        if held is None:
            raise InvalidRequest(
                f"no row of dataset version {dataset.version} of {classifier.name!r} has the "
                f"label {label!r}, so it cannot mark the out-of-scope examples",
                field="out_of_scope_label",
            )
    classifier.out_of_scope_label = label
    return label
