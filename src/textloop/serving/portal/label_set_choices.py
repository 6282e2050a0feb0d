"""A multi-label classifier's task page: every label as a checkbox, the model's set ticked.

Number keys toggle the first nine labels and ``Enter`` saves the ticked set, possibly empty
("none of these": no label applies). A task from explicit feedback ticks nothing, so that the
disputed set is never confirmed by one key. The form posts ``with:<label>`` per ticked box, so
it works without the script too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from textloop.errors import InvalidRequest
from textloop.review.assignments import NONE_FITS
from textloop.serving.portal.readable import readable
from textloop.store.stored_labels import decode, encode

TICKED = "with:"  # a ticked box's form field: ``with:<label>``
KEYS = 9  # labels one number key away


@dataclass(frozen=True)
class SetChoice:
    label: str
    score: float | None
    ticked: bool
    key: int | None  # the number key that toggles it

    @property
    def readable(self) -> str | None:
        return readable(self.label)

    @property
    def field(self) -> str:
        return TICKED + self.label


def set_choices(
    labels: Sequence[str], scores: Mapping[str, float], suggested: str | None, explicit: bool
) -> list[SetChoice]:
    """Every label, the model's likeliest first, then the rest alphabetically; the model's set
    ticked unless the task is a user's dispute of it."""
    ticked = set() if explicit or suggested is None else set(decode(suggested))
    ordered = sorted(labels, key=lambda label: (-scores.get(label, -1.0), label))
    return [
        SetChoice(label, scores.get(label), label in ticked, n + 1 if n < KEYS else None)
        for n, label in enumerate(ordered)
    ]


def chosen_set(form: Mapping[str, str]) -> str | None:
    """The set the form's ticked boxes make, as a decision stores it; no box ticked is
    ``NONE_FITS``, the empty set."""
    names = [field[len(TICKED) :] for field in form if field.startswith(TICKED)]
    if any(not name.strip() for name in names):
        raise InvalidRequest("a ticked label has no name", field="labels")
    return encode(names) if names else NONE_FITS
