"""``set-cascade``: a cheap multi-label model answers the label sets it is sure of, the full one
the rest.

The ``cascade`` of label sets. Its first stage is the n-gram candidate in its own
``multi-label`` wrapper (calibrated per label, its own thresholds); a text is answered early
where that stage's confidence in its whole set (``label_thresholds.set_confidence``) reaches
``threshold``. The threshold is chosen on labelled rows (``fit``, the validation split) as the
lowest at which the cascade's micro-F1 stays within ``max_drop`` of the full model's, by the
``cascade``'s own conservative rule (``lowest_within``), counting true positives, false
positives and false negatives text by text.

Served, it is one multi-label model: its thresholds, and so ``thresholds()``, are the full
stage's, and a text answered early gets the first stage's probabilities ``carried`` onto them,
so every consumer that decides at ``thresholds_`` reads the first stage's set: a probability
stays as it is unless it lies between its label's two thresholds, and is then moved just across
the full stage's to the side the first stage decided. Where the thresholds agree on a label its
calibration stands; where one moves, the confidence in the set served for that text is lower
than the first stage's own by the move (the first stage was sure of the set, so such a label
is rare). Both stages need the same labels. ``answered_early``/``answered`` count as the
``cascade``'s do.
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
from textloop.models.cascade import MAX_DROP, lowest_within
from textloop.models.label_heads import indicators
from textloop.models.label_thresholds import set_confidence
from textloop.models.multi_label import MultiLabelClassifier
from textloop.models.shared_predict import early_answers

SAVED = "set_cascade.json"
NOT_THIS_WAY = "a set cascade is built from its two stages: SetCascadeClassifier.joined(...)"


@families.register("set-cascade")
class SetCascadeClassifier(MultiLabelClassifier):
    """Wraps two fitted ``multi-label`` models of the same labels; ``fit`` only chooses the
    threshold. As a ``multi-label`` model it is the full stage (its inner ``model``,
    calibration and thresholds), but for the texts the first stage answers. Its base's
    constructors (``fitted``, ``refitted``, ``untuned``) are refused: ``joined`` is its own."""

    def __init__(self, first: Any = None, full: Any = None, max_drop: float = MAX_DROP) -> None:
        super().__init__()
        self.first = first
        self.full = full
        self.max_drop = max_drop

    @classmethod
    def fitted(cls, *args: Any, **kwargs: Any) -> Self:
        raise TypeError(NOT_THIS_WAY)

    @classmethod
    def refitted(cls, *args: Any, **kwargs: Any) -> Self:
        raise TypeError(NOT_THIS_WAY)

    @classmethod
    def untuned(cls, *args: Any, **kwargs: Any) -> Self:
        raise TypeError(NOT_THIS_WAY)

    def get_params(self) -> dict[str, Any]:
        return {
            "first": _params(self.first),
            "full": _params(self.full),
            "max_drop": self.max_drop,
            **({"threshold": self.threshold_} if hasattr(self, "threshold_") else {}),
        }

    def fit(self, texts: Sequence[str], labels: Sequence[tuple[str, ...]]) -> Self:
        self._join()
        first, full = self.both(texts)
        truth = indicators(labels, self.classes_)
        self.threshold_ = choose_set_threshold(
            (first, self.first.thresholds_), (full, self.thresholds_), truth, self.max_drop
        )
        return self

    @classmethod
    def joined(cls, first: Any, full: Any, max_drop: float, threshold: float) -> Self:
        """The cascade of two fitted models with its threshold already chosen."""
        model = cls(first, full, max_drop)
        model._join()
        model.threshold_ = threshold
        return model

    def _join(self) -> None:
        for stage in (self.first, self.full):
            if not isinstance(stage, MultiLabelClassifier) or not hasattr(stage, "classes_"):
                raise ValueError("SetCascadeClassifier needs two fitted multi-label models")
        if list(self.first.classes_) != list(self.full.classes_):
            raise ValueError(
                f"the first stage answers {self.first.classes_}, the full one {self.full.classes_}"
            )
        self.model, self.floor = self.full.model, self.full.floor
        self._adopt(self.full.scale_, self.full.shift_, self.full.thresholds_)
        self._count = [0, 0]

    def both(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each stage's probabilities for every text (for evaluation: the cascade's answers
        are ``combine``d from them, and the full model's are beside)."""
        return self.first.predict_proba(texts), self.full.predict_proba(texts)

    def sure(self, first: np.ndarray) -> np.ndarray:
        return np.asarray(set_confidence(first, self.first.thresholds_) >= self.threshold_)

    def combine(self, first: np.ndarray, full: np.ndarray) -> np.ndarray:
        early, sure = early_answers(
            first, self.first.thresholds_, self.thresholds_, self.threshold_
        )
        return np.where(sure[:, None], early, full)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        check_fitted(self)
        if not len(texts):
            return np.zeros((0, len(self.classes_)))
        answers, sure = early_answers(
            self.first.predict_proba(texts),
            self.first.thresholds_,
            self.thresholds_,
            self.threshold_,
        )
        rest = np.flatnonzero(~sure)
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

    def portable(self, writer: PortableWriter) -> dict[str, Any]:
        """The first stage before the full one: a member they share is written once."""
        check_fitted(self)
        return {
            "kind": "set-cascade",
            "classes": list(self.classes_),
            "threshold": self.threshold_,
            "first": writer.node(self.first),
            "full": writer.node(self.full),
        }

    def save(self, directory: Path) -> None:
        """A first stage around a member of the full model's ensemble (the usual case) is saved
        as that member's index and its own calibration and thresholds: loaded, and held in
        memory, once."""
        check_fitted(self)
        member = shared_member(self.first, self.full)
        if member is None:
            save_model(self.first, directory / "first")
        save_model(self.full, directory / "full")
        saved: dict[str, Any] = {"threshold": self.threshold_, "max_drop": self.max_drop}
        if member is not None:
            saved["first_member"] = {
                "index": member,
                "floor": self.first.floor,
                **self.first._learned(),
            }
        (directory / SAVED).write_text(json.dumps(saved))

    @classmethod
    def load(cls, directory: Path, resources: ModelResources) -> Self:
        saved = json.loads((directory / SAVED).read_text())
        full = load_model(directory / "full", resources)
        reference = saved.get("first_member")
        if reference is None:
            first = load_model(directory / "first", resources)
        else:
            first = MultiLabelClassifier.fitted(
                _members(full)[reference["index"]],
                reference["scale"],
                reference["shift"],
                reference["thresholds"],
                reference["floor"],
            )
        return cls.joined(first, full, saved["max_drop"], float(saved["threshold"]))


def choose_set_threshold(
    first: tuple[np.ndarray, np.ndarray],
    full: tuple[np.ndarray, np.ndarray],
    truth: np.ndarray,
    max_drop: float,
) -> float:
    """The lowest confidence of the first stage in its whole set at which answering with it
    costs at most ``max_drop`` micro-F1 against the full model on these rows; ``NEVER`` when
    none does. ``first`` and ``full`` are each stage's probabilities and thresholds, ``truth``
    the rows' indicator matrix.

    Lowering the threshold lets texts through in order of that confidence; each text answered
    early trades the full model's true positives, false positives and false negatives on it
    for the first stage's, so the cascade's counts at every threshold are one cumulative sum."""
    confidence = set_confidence(*first)
    order = np.argsort(-confidence, kind="stable")
    early, late = _counts(*first, truth)[order], _counts(*full, truth)[order]
    moved = late.sum(axis=0) + np.cumsum(early - late, axis=0)
    within = _micro_f1(moved) >= _micro_f1(late.sum(axis=0)) - max_drop - 1e-9
    return lowest_within(confidence[order], within)


def _counts(probabilities: np.ndarray, thresholds: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per text: its true positives, false positives and false negatives."""
    answered, true = probabilities >= thresholds, truth.astype(bool)
    return np.column_stack(
        [(answered & true).sum(axis=1), (answered & ~true).sum(axis=1), (~answered & true).sum(1)]
    )


def _micro_f1(counts: np.ndarray) -> np.ndarray:
    """Micro-F1 of true positives, false positives and false negatives (the last axis); 1.0
    where nothing is true or answered, as ``headline.SetCounts`` reads it."""
    counts = np.asarray(counts, dtype=float)
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.ones_like(tp), where=denominator > 0)


def _params(model: Any) -> dict[str, Any] | None:
    return {"family": model.family, **model.get_params()} if model is not None else None


def shared_member(first: Any, full: Any) -> int | None:
    """Where the ``first`` stage wraps one of ``full``'s ensemble members, its index."""
    for index, member in enumerate(_members(full)):
        if member is first.model:
            return index
    return None


def _members(full: Any) -> list[Any]:
    """The ensemble members inside a multi-label ensemble (none for any other model)."""
    return list(getattr(full.model, "models_", []))
