"""Adding a label to a classifier that has been answering without it.

A classifier's labels are fixed by the data it was first trained on; texts that fit none of them
show where one is missing (a reviewer proposes a name, or ``discover`` finds a cluster). Adding
the name makes it a label reviewers can choose and decisions can carry, so the next merge
trains on it; the model answers it only after that retrain. This is the one way a label is
added, so a name is checked alike wherever it comes from.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from textloop.data.label_sets import DEFAULT_SEPARATOR
from textloop.errors import InvalidRequest
from textloop.store.stored_labels import STORED_SEPARATOR, Mode
from textloop.store.tables import Classifier

MAX_NAME_LENGTH = 200


def checked_name(classifier: Classifier, name: str) -> str:
    """``name`` as a new label of ``classifier`` (stripped), or refused with the reason: empty,
    too long, holding a character a label may not hold, or a label already."""
    name = name.strip()
    if not name:
        raise InvalidRequest("a new label needs a name", field="label")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidRequest(
            f"a label name is at most {MAX_NAME_LENGTH} characters, not {len(name)}",
            field="label",
        )
    if STORED_SEPARATOR in name or any(not char.isprintable() for char in name):
        raise InvalidRequest("a label name may not hold control characters", field="label")
    if classifier.mode == Mode.MULTI_LABEL and DEFAULT_SEPARATOR in name:
        raise InvalidRequest(
            f"a label of a multi-label classifier may not hold {DEFAULT_SEPARATOR!r}: it joins "
            "the labels of a set in files and exports",
            field="label",
        )
    if name in classifier.labels:
        raise InvalidRequest(f"{name!r} is a label of {classifier.name!r} already", field="label")
    return name


def add_label(session: Session, classifier: Classifier, name: str) -> str:
    """Add ``name`` to ``classifier``'s labels (in ``session``; stored when the caller commits)
    and return it as stored. The row is read again under a lock first: the list is rewritten
    whole, so one read before another writer's commit would lose that writer's label."""
    locked = session.get(Classifier, classifier.id, with_for_update=True, populate_existing=True)
    assert locked is not None
    name = checked_name(locked, name)
    locked.labels = [*locked.labels, name]  # a new list: the JSON column sees the change
    session.flush()
    return name
