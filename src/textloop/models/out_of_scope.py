"""Telling a text that fits no known label from one that fits, learned with no example of the
former, and kept beside the model it judges for.

A classifier trained on its labels forces every text into one of them, often confidently. Two
signs that a text is unlike the training data need no out-of-scope examples to learn: the
calibrated probability of the best label (low when the text sits between labels) and the cosine
similarity of the text's embedding to its nearest training text (low when it sits far from all
of them; Sun et al. 2022, "Out-of-distribution detection with deep nearest neighbors"). Each is
standardised on the validation split's texts, which are in scope by construction, and their sum
is the text's in-scope score. The threshold is the score that keeps ``recall`` of the validation
texts in scope, so the share of good answers given up is chosen, not discovered. A model without
an encoder (``ngram`` alone) has only the probability to go on. Behind a cascade, a text the
cheap stage answered is taken as in scope, so the texts it answers stay unencoded.

The detector is not a model family: it rides beside the model it was fitted for
(``out_of_scope_``, saved in the model's folder by ``save_model`` and attached again by
``load_model``), so everything that reads the model sees the model it knows, and a model saved
before the detector existed simply has none. On Banking77 with ten intents held out, the sum
separates in-scope from out-of-scope texts better than either sign alone:
``benchmarks/out_of_scope.py``.

Where the training data does hold out-of-scope examples under a label of their own (``label``,
``train --out-of-scope-label``), the model learns that label as a class like any other, and its
answer is out of scope too; those examples are neither validation texts the threshold keeps in
scope nor training texts a text may be near.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from textloop.models.shared_predict import scope_signs, unit

IN_SCOPE_RECALL = 0.97  # the share of in-scope texts the threshold keeps, on validation (see
# docs/out-of-scope.md: on CLINC150 it keeps in-scope accuracy within 2.5 points of none aside)
MAX_REFERENCE = 20_000  # training texts kept to compare with: 30 MB of float32 at 384 dimensions
ATTRIBUTE = "out_of_scope_"  # where a model carries its detector
FOLDER = "out_of_scope"  # where, in a saved model's folder, the detector is saved
SAVED = "out_of_scope.json"
REFERENCE = "reference.npy"
MIN_SPREAD = 0.01  # both signs lie in [0, 1]: validation texts all alike must not blow one up
NO_THRESHOLD = -np.inf  # nothing to choose on: every text is in scope


class OutOfScopeDetector:
    """Fitted for one model: ``fit`` takes the model, the validation rows (to choose the
    threshold on, unseen by the model) and ``reference``, the training texts to compare with.
    Asked later, it is given the same model (or that model refitted, see ``refitted``)."""

    def __init__(
        self,
        recall: float = IN_SCOPE_RECALL,
        max_reference: int = MAX_REFERENCE,
        seed: int = 0,
        label: str | None = None,
    ) -> None:
        self.recall = recall  # 0: only ``label`` answers out of scope
        self.max_reference = max_reference
        self.seed = seed
        self.label = label  # the label of out-of-scope examples, where the data has them

    def fit(self, model: Any, texts: Sequence[str], reference: Sequence[str]) -> Self:
        """``texts`` and ``reference`` are in scope: rows of ``label`` are left out of both
        by the caller (``in_scope``)."""
        if self.recall and not 0.5 <= self.recall < 1.0:
            raise ValueError(f"recall must be 0 or at least 0.5 and below 1, not {self.recall}")
        texts = list(texts) if self.recall else []
        self.reference_ = self._reference(model, reference if self.recall else [])
        if not texts:
            self.centre_, self.spread_ = np.zeros(2), np.ones(2)
            self.threshold_ = NO_THRESHOLD
            return self
        signs = self._signs(model, texts, np.asarray(model.predict_proba(texts)))
        self.centre_ = signs.mean(axis=0)
        self.spread_ = np.maximum(signs.std(axis=0), MIN_SPREAD)
        self.threshold_ = float(
            np.quantile(self._combined(signs), 1.0 - self.recall, method="lower")
        )
        return self

    def refitted(self, model: Any, reference: Sequence[str]) -> OutOfScopeDetector:
        """This detector's choices (the standardisation, the threshold) for ``model`` fitted
        again on more texts, compared with ``reference``, those texts."""
        again = OutOfScopeDetector(self.recall, self.max_reference, self.seed, self.label)
        again.reference_ = again._reference(model, reference if self.recall else [])
        again.centre_, again.spread_, again.threshold_ = self.centre_, self.spread_, self.threshold_
        return again

    def scores(self, model: Any, texts: Sequence[str], probabilities: np.ndarray) -> np.ndarray:
        """The in-scope score of each text, higher for more like the training data, from
        ``model``'s ``probabilities`` for ``texts`` (already computed: not run twice)."""
        if not len(texts):
            return np.zeros(0)
        return self._combined(self._signs(model, list(texts), np.asarray(probabilities)))

    def out_of_scope(
        self, model: Any, texts: Sequence[str], probabilities: np.ndarray
    ) -> np.ndarray:
        """Which texts fit none of the labels. Behind a cascade, a text its cheap stage answered
        is in scope without a look at its embedding: that stage was sure enough to answer it
        unencoded, and encoding it only to ask would undo the cascade."""
        probabilities = np.asarray(probabilities)
        flags = self.answered_with_label(model, probabilities)
        if self.threshold_ == NO_THRESHOLD:
            return flags
        look = ~_answered_early(model, texts)
        if look.any():
            rows = np.flatnonzero(look)
            asked = [texts[int(i)] for i in rows]
            flags[rows] |= self.scores(model, asked, probabilities[rows]) < self.threshold_
        return flags

    def answered_with_label(self, model: Any, probabilities: np.ndarray) -> np.ndarray:
        """The texts whose best label is the out-of-scope examples' own."""
        classes = list(model.classes_)
        if self.label is None or self.label not in classes or not len(probabilities):
            return np.zeros(len(probabilities), dtype=bool)
        return np.asarray(probabilities.argmax(axis=1) == classes.index(self.label))

    def report(self) -> dict[str, Any]:
        """What was learned, as a training run records it."""
        signs = ["probability", "nearest"] if len(self.reference_) else ["probability"]
        return {
            "recall": self.recall,
            "threshold": None if self.threshold_ == NO_THRESHOLD else round(self.threshold_, 4),
            "reference_texts": len(self.reference_),
            "signs": signs if self.recall else [],
            **({"label": self.label} if self.label is not None else {}),
        }

    def _signs(self, model: Any, texts: list[str], probabilities: np.ndarray) -> np.ndarray:
        """(best probability, cosine to the nearest training text) per text, as the bundle's
        ``predict.py`` computes them; without an encoder the second is 0 throughout, which
        standardises to nothing."""
        embedded = _embed(model, texts) if len(self.reference_) and texts else None
        return scope_signs(probabilities, embedded, self.reference_)

    def _combined(self, signs: np.ndarray) -> np.ndarray:
        return np.asarray(((signs - self.centre_) / self.spread_).sum(axis=1))

    def _reference(self, model: Any, texts: Sequence[str]) -> np.ndarray:
        """The training texts' unit embeddings (at most ``max_reference``, drawn at random);
        none without an encoder."""
        kept = list(dict.fromkeys(texts))
        if len(kept) > self.max_reference:
            chosen = np.random.default_rng(self.seed).choice(
                len(kept), self.max_reference, replace=False
            )
            kept = [kept[int(i)] for i in sorted(chosen)]
        if not kept or encoder_model(model) is None:
            return np.zeros((0, 0), dtype=np.float32)
        return unit(_embed(model, kept)).astype(np.float32)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / REFERENCE, self.reference_)
        saved = {
            "recall": self.recall,
            "max_reference": self.max_reference,
            "seed": self.seed,
            "label": self.label,
            "centre": self.centre_.tolist(),
            "spread": self.spread_.tolist(),
            "threshold": None if self.threshold_ == NO_THRESHOLD else self.threshold_,
        }
        (directory / SAVED).write_text(json.dumps(saved))

    @classmethod
    def load(cls, directory: Path) -> Self:
        saved = json.loads((directory / SAVED).read_text())
        detector = cls(saved["recall"], saved["max_reference"], saved["seed"], saved.get("label"))
        detector.reference_ = np.load(directory / REFERENCE, allow_pickle=False)
        detector.centre_ = np.asarray(saved["centre"], dtype=float)
        detector.spread_ = np.asarray(saved["spread"], dtype=float)
        threshold = saved["threshold"]
        detector.threshold_ = NO_THRESHOLD if threshold is None else float(threshold)
        return detector


def in_scope(texts: Sequence[str], labels: Sequence[Any], label: str | None) -> list[str]:
    """The texts of ``texts`` whose label is not ``label``, the out-of-scope examples' own."""
    return (
        list(texts)
        if label is None
        else [t for t, y in zip(texts, labels, strict=True) if y != label]
    )


def found_unlike(out_of_scope: bool, label: str | None, out_of_scope_label: str | None) -> bool:
    """Whether an answer out of scope is the detector's finding that the text is unlike what
    the model learned from, rather than the model answering the data's own out-of-scope label,
    which it learned like any other label and may be sure of. Only the first asks a person
    (a review task whatever its confidence) and counts as a new kind of text in drift."""
    return out_of_scope and (out_of_scope_label is None or label != out_of_scope_label)


def detector_of(model: Any) -> OutOfScopeDetector | None:
    """The detector riding beside ``model``, if it was given one."""
    return getattr(model, ATTRIBUTE, None)


def out_of_scope_flags(
    model: Any, texts: Sequence[str], probabilities: np.ndarray
) -> np.ndarray | None:
    """Which of ``texts`` ``model`` answers "out of scope", from its ``probabilities`` for
    them; None for a model without a detector, which answers as it always did."""
    detector = detector_of(model)
    return None if detector is None else detector.out_of_scope(model, texts, probabilities)


def attach(model: Any, detector: OutOfScopeDetector | None) -> Any:
    setattr(model, ATTRIBUTE, detector)
    return model


def encoder_model(model: Any) -> Any | None:
    """The first model inside ``model`` (itself, a wrapper's inner or full model, an ensemble's
    members) that embeds texts with a sentence encoder, or None."""
    from textloop.models.embedding import EmbeddingClassifier

    if isinstance(model, EmbeddingClassifier):
        return model
    inner = [getattr(model, name, None) for name in ("model", "full")]
    for candidate in [*inner, *getattr(model, "models_", [])]:
        if candidate is not None and (found := encoder_model(candidate)) is not None:
            return found
    return None


def _embed(model: Any, texts: Sequence[str]) -> np.ndarray:
    """``texts`` embedded by ``model``'s encoder: the vectors its own answers were made from, so
    (cached per text) they are not computed twice."""
    found = encoder_model(model)
    assert found is not None
    return np.asarray(found._encode(texts), dtype=np.float32)


def _answered_early(model: Any, texts: Sequence[str]) -> np.ndarray:
    """The texts ``model``'s cascade answered with its cheap stage, unencoded (asked again: the
    n-gram stage costs a tenth of a millisecond a text); none for another model."""
    from textloop.models.cascade import CascadeClassifier

    if not isinstance(model, CascadeClassifier) or not len(texts):
        return np.zeros(len(texts), dtype=bool)
    return np.asarray(model.sure(model.first_probabilities(list(texts))))
