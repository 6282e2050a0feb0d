"""From fitted candidates of label sets to the multi-label model that is saved.

As for single labels (``compose``), every choice is made on the validation rows: each candidate
is calibrated per label and given its per-label thresholds there (``multi_label``) and judged by
micro-F1, with macro-F1 to break ties; with several candidates, their weighted ensemble (log-odds
pooled per label, weights by calibrated log-loss) joins them. A validation split too small to tell
candidates apart (fewer than ``MIN_VALIDATION_PER_LABEL`` texts per label) takes the first
candidate the few-labels prior knows. Where the winner is not itself cheap and the n-gram
candidate was fitted too, that candidate, calibrated and thresholded on its own, answers first in a
``set-cascade`` whose threshold on its confidence in a whole set keeps validation micro-F1 within
``cascade_max_drop`` of the winner's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from textloop.models.headline import headline_sets
from textloop.models.label_heads import indicators
from textloop.models.multi_label import MultiLabelClassifier, fit_platt, platt
from textloop.models.selection import weight_grid
from textloop.models.set_cascade import SetCascadeClassifier
from textloop.models.shared_predict import EPSILON, align, pool
from textloop.models.tags import tags_of

ENSEMBLE = "ensemble"
LabelSets = Sequence[tuple[str, ...]]


def score_sets(model: MultiLabelClassifier, texts: list[str], label_sets: LabelSets) -> Any:
    """A calibrated, thresholded candidate's headline numbers on these rows."""
    decided = model.predict_proba(texts) >= model.thresholds_
    return headline_sets(indicators(label_sets, model.classes_), decided)


def candidates_of_sets(
    fitted: dict[str, Any], texts: list[str], label_sets: LabelSets, guessing: bool
) -> tuple[dict[str, MultiLabelClassifier], dict[str, dict[str, float]]]:
    """Every fitted candidate (and their ensemble, unless ``guessing``) calibrated and
    thresholded on validation, with its scores there."""
    wrapped = {
        family: MultiLabelClassifier(model).fit(texts, label_sets)
        for family, model in fitted.items()
    }
    if len(fitted) > 1 and not guessing:
        wrapped[ENSEMBLE] = MultiLabelClassifier(
            weighted_set_ensemble(list(fitted.values()), texts, label_sets)
        ).fit(texts, label_sets)
    scores = {family: score_sets(model, texts, label_sets) for family, model in wrapped.items()}
    return wrapped, scores


def weighted_set_ensemble(models: list[Any], texts: list[str], label_sets: LabelSets) -> Any:
    """The ensemble of fitted multi-label ``models`` whose weights give the lowest log-loss on
    these rows once each label is calibrated, as the ensemble will be."""
    from textloop.models.ensemble import EnsembleClassifier

    equal = EnsembleClassifier.from_fitted(models, [1.0] * len(models), "logit")
    classes = equal.classes_
    aligned = [align(m.predict_proba(texts), m.classes_, classes) for m in models]
    truth = indicators(label_sets, classes)
    best: tuple[float, list[float]] | None = None
    for weights in weight_grid(len(models)):
        pooled = pool(aligned, weights, "logit")
        calibrated = np.clip(platt(pooled, *fit_platt(pooled, truth)), EPSILON, 1 - EPSILON)
        loss = -float((truth * np.log(calibrated) + (1 - truth) * np.log(1 - calibrated)).mean())
        if best is None or loss < best[0]:
            best = (loss, weights)
    assert best is not None
    return EnsembleClassifier.from_fitted(models, best[1], "logit")


def too_few_to_choose_sets(label_sets: LabelSets) -> bool:
    from textloop.models.compose import MIN_VALIDATION_PER_LABEL

    names = {name for labels in label_sets for name in labels}
    return len(label_sets) < MIN_VALIDATION_PER_LABEL * max(len(names), 1)


def calibration_report(model: MultiLabelClassifier) -> dict[str, Any]:
    return {
        "method": "platt per label",
        "thresholds": {label: round(value, 4) for label, value in model.thresholds().items()},
    }


def cascaded_sets(
    wrapped: dict[str, MultiLabelClassifier],
    winner: str,
    texts: list[str],
    label_sets: LabelSets,
    max_drop: float,
) -> tuple[MultiLabelClassifier, dict[str, Any]]:
    """The ``winner`` behind the cheap candidate in a ``set-cascade``, with what the cascade
    does on validation; the winner itself where it is cheap already, no cheap candidate was
    fitted, or the cheap one would answer nothing early."""
    full = wrapped[winner]
    cheap = [name for name, model in wrapped.items() if tags_of(model.model).first_stage]
    if tags_of(full.model).first_stage or not cheap:
        return full, {}
    cascade = SetCascadeClassifier(wrapped[cheap[0]], full, max_drop).fit(texts, label_sets)
    early, late = cascade.both(texts)
    share = float(cascade.sure(early).mean())
    truth = indicators(label_sets, cascade.classes_)
    report = {
        "first": cheap[0],
        "threshold": round(cascade.threshold_, 4),
        "answered_early": round(share, 4),
        "validation_micro_f1": {
            name: round(headline_sets(truth, answered >= cascade.thresholds_)["micro_f1"], 4)
            for name, answered in (("cascade", cascade.combine(early, late)), ("full", late))
        },
    }
    return (cascade, report) if share > 0 else (full, {**report, "used": False})
