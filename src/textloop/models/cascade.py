"""``cascade``: a cheap model answers the texts it is sure of, the full model only the rest.

Most of what a classifier is asked is easy, and a word n-gram model that needs no encoder gets
the easy texts right in a fraction of the encoder's time. The cascade asks it first and answers
with its (calibrated) probabilities where its confidence reaches ``threshold``; the other texts
go to the full model. The threshold is chosen on labelled rows (``fit``) as the lowest at which
the cascade's accuracy stays within ``max_drop`` of the full model's, so serving gets cheaper
without getting measurably worse. Those rows are the validation split, which also chose the
winner and fitted both temperatures: the test split, never seen, says what the cascade costs.
``answered_early``/``answered`` count what it did since loading (without a lock: calls from
several threads may lose a count, never an answer).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from textloop.models.base import (
    ModelResources,
    PortableWriter,
    check_fitted,
    families,
    load_model,
    save_model,
)
from textloop.models.calibrated import CalibratedClassifier
from textloop.models.shared_predict import align

MAX_DROP = 0.001  # accuracy the cascade may give up on the rows its threshold is chosen on
NEVER = 1.01  # a threshold no confidence reaches: every text goes to the full model


@families.register("cascade")
class CascadeClassifier:
    """Wraps two fitted models on the same classes; ``fit`` only chooses the threshold."""

    def __init__(self, first: Any = None, full: Any = None, max_drop: float = MAX_DROP) -> None:
        self.first = first
        self.full = full
        self.max_drop = max_drop

    def get_params(self) -> dict[str, Any]:
        return {
            "first": _params(self.first),
            "full": _params(self.full),
            "max_drop": self.max_drop,
            **({"threshold": self.threshold_} if hasattr(self, "threshold_") else {}),
        }

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Self:
        if not hasattr(self.first, "classes_") or not hasattr(self.full, "classes_"):
            raise ValueError("CascadeClassifier needs two already fitted models")
        self.classes_ = list(self.full.classes_)
        first, full = self.both(texts)
        self.threshold_ = choose_threshold(first, full, labels, self.classes_, self.max_drop)
        self._count = [0, 0]
        return self

    def both(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each stage's probabilities for every text, in ``classes_`` order (for evaluation:
        the cascade's answers are ``combine``d from them, and the full model's are beside)."""
        return self.first_probabilities(texts), np.asarray(self.full.predict_proba(texts))

    def combine(self, first: np.ndarray, full: np.ndarray) -> np.ndarray:
        return np.where(self.sure(first)[:, None], first, full)

    def sure(self, first: np.ndarray) -> np.ndarray:
        return np.asarray(first.max(axis=1) >= self.threshold_) if len(first) else np.zeros(0, bool)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        check_fitted(self)
        if not len(texts):
            return np.zeros((0, len(self.classes_)))
        answers = self.first_probabilities(texts)
        rest = np.flatnonzero(~self.sure(answers))
        if len(rest):
            answers[rest] = self.full.predict_proba([texts[int(i)] for i in rest])
        self._count[0] += len(texts) - len(rest)
        self._count[1] += len(texts)
        return answers

    @property
    def answered_early(self) -> int:
        return self._count[0]

    @property
    def answered(self) -> int:
        return self._count[1]

    def first_probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return align(
            np.asarray(self.first.predict_proba(texts)), self.first.classes_, self.classes_
        )

    def portable(self, writer: PortableWriter) -> dict[str, Any]:
        """The first stage before the full model: a member they share is written where it is
        met first and referred to after."""
        check_fitted(self)
        return {
            "kind": "cascade",
            "classes": list(self.classes_),
            "threshold": self.threshold_,
            "first": writer.node(self.first),
            "full": writer.node(self.full),
        }

    def save(self, directory: Path) -> None:
        """A first stage that is a member of the full model's ensemble (the usual case) is
        saved as a reference to it and its temperature, so that it is loaded, and held in
        memory, once."""
        check_fitted(self)
        member = shared_member(self.first, self.full)
        if member is None:
            save_model(self.first, directory / "first")
        save_model(self.full, directory / "full")
        saved: dict[str, Any] = {"threshold": self.threshold_, "max_drop": self.max_drop}
        if member is not None:
            saved["first_member"] = {"index": member, "temperature": self.first.temperature_}
        (directory / "cascade.json").write_text(json.dumps(saved))

    @classmethod
    def load(cls, directory: Path, resources: ModelResources) -> Self:
        saved = json.loads((directory / "cascade.json").read_text())
        full = load_model(directory / "full", resources)
        reference = saved.get("first_member")
        if reference is None:
            first = load_model(directory / "first", resources)
        else:
            member = _members(full)[reference["index"]]
            first = CalibratedClassifier.fitted(member, reference["temperature"])
        return cls.fitted(first, full, saved["max_drop"], float(saved["threshold"]))

    @classmethod
    def fitted(cls, first: Any, full: Any, max_drop: float, threshold: float) -> Self:
        """The cascade of two fitted models with its threshold already chosen."""
        model = cls(first, full, max_drop)
        model.classes_ = list(full.classes_)
        model.threshold_ = threshold
        model._count = [0, 0]
        return model


def _params(model: Any) -> dict[str, Any] | None:
    return {"family": model.family, **model.get_params()} if model is not None else None


def shared_member(first: Any, full: Any) -> int | None:
    """Where the calibrated ``first`` stage wraps one of ``full``'s ensemble members, its index."""
    inner = getattr(first, "model", None) if isinstance(first, CalibratedClassifier) else None
    for index, member in enumerate(_members(full)):
        if member is inner:
            return index
    return None


def _members(full: Any) -> list[Any]:
    """The ensemble members inside a calibrated ensemble (none for any other model)."""
    inner = full.model if isinstance(full, CalibratedClassifier) else full
    return list(getattr(inner, "models_", []))


def choose_threshold(
    first: np.ndarray,
    full: np.ndarray,
    labels: Sequence[str],
    classes: Sequence[str],
    max_drop: float,
) -> float:
    """The lowest confidence of the first stage at which answering with it costs at most
    ``max_drop`` accuracy against the full model on these rows; ``NEVER`` when none does.

    Lowering the threshold lets texts through in order of the first stage's confidence, so the
    cascade's accuracy as a function of the threshold is one cumulative sum: each text answered
    early changes the count of right answers by (first right) - (full right)."""
    if not len(labels):
        return NEVER
    index = {label: i for i, label in enumerate(classes)}
    truth = np.array([index.get(label, -1) for label in labels])
    first_right = first.argmax(axis=1) == truth
    full_right = full.argmax(axis=1) == truth
    confidence = first.max(axis=1)
    order = np.argsort(-confidence, kind="stable")
    change = np.cumsum(first_right[order].astype(int) - full_right[order].astype(int))
    return lowest_within(confidence[order], change >= -max_drop * len(labels) - 1e-9)


def lowest_within(descending: np.ndarray, within: np.ndarray) -> float:
    """The lowest of the ``descending`` confidences down to which answering every text early
    stays ``within`` the budget (``within[k]``: the first ``k + 1`` texts answered early do);
    ``NEVER`` when none does."""
    if not len(descending):
        return NEVER
    # a threshold can only fall between distinct confidences: the last text of each run of ties
    distinct = np.append(descending[1:] != descending[:-1], True)
    ok = np.flatnonzero(within & distinct)
    if not len(ok):
        return NEVER
    # conservative: stop before the first prefix over the budget, rather than trust a later
    # run of luck on a few rows to make up for it
    bad = np.flatnonzero(~within & distinct)
    if len(bad):
        ok = ok[ok < bad[0]]
        if not len(ok):
            return NEVER
    return float(descending[ok[-1]])
