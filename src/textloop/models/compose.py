"""From fitted candidates to the model that is saved: the winner, calibrated, maybe cascaded.

Which families are worth fitting at all depends on the data (``worth_fitting``: fine-tuning an
encoder pays with few labels per class, not with many). With more than one candidate, their weighted
ensemble joins them (weights chosen on validation, ``selection``) and the best on validation wins;
ties go to the earlier, simpler candidate. A validation split too small to tell candidates apart
(fewer than ``MIN_VALIDATION_PER_LABEL`` texts per label) chooses nothing: the family measured best
at so few labels (``FEW_LABELS_PRIOR``) is taken, without an ensemble whose weights would be fitted
to noise. The winner's confidence is calibrated on validation by temperature scaling. Where the
winner is not itself cheap and a cheap candidate was fitted too (a family tagged ``first_stage``:
the n-gram model, alone or inside the ensemble), the cheap one answers first in a ``cascade`` whose
threshold keeps validation accuracy within ``cascade_max_drop`` of the winner's (for label sets,
a ``set-cascade`` that keeps micro-F1 so: ``set_composition``). Every choice is made on validation
rows only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from textloop.errors import InvalidRequest, TextloopError
from textloop.models.base import ModelResources, TextClassifier, families, family_name, fit_model
from textloop.models.calibrated import CalibratedClassifier
from textloop.models.cascade import CascadeClassifier
from textloop.models.ensemble import EnsembleClassifier
from textloop.models.headline import headline
from textloop.models.label_heads import are_label_sets, label_names
from textloop.models.multi_label import MultiLabelClassifier
from textloop.models.selection import weighted_ensemble
from textloop.models.set_cascade import SetCascadeClassifier
from textloop.models.set_composition import (
    calibration_report,
    candidates_of_sets,
    cascaded_sets,
    score_sets,
    too_few_to_choose_sets,
)
from textloop.models.tags import tags_of

ENSEMBLE = "ensemble"
log = logging.getLogger(__name__)
# Below this many validation texts per label, the difference between two candidates on
# validation is mostly noise: on a 10-per-intent sample of Banking77 (about one validation text
# per intent), ``auto`` chose ``embedding`` (test accuracy 0.837) over ``finetuned`` (0.866).
MIN_VALIDATION_PER_LABEL = 5
# Best first, as measured with few labels per class (``benchmarks/few_labels.py``, Banking77 at
# 5 and 10 labels per intent, three seeds): fine-tuning ahead of the frozen encoder by 1.0-1.7
# points, both far ahead of n-grams.
FEW_LABELS_PRIOR = ("finetuned", "embedding", "ngram")
WRAPPED = {
    "calibrated": "model",
    "cascade": "full",
    "multi-label": "model",
    "set-cascade": "full",
}  # wrapper family → its inner model


@dataclass
class Composition:
    model: TextClassifier  # what is saved and served
    winner: str  # the candidate (or ``ensemble``) it was built from
    validation: dict[str, dict[str, float]]  # accuracy and macro-F1 of every candidate
    calibration: dict[str, Any] = field(default_factory=dict)
    cascade: dict[str, Any] = field(default_factory=dict)
    fit_reports: dict[str, Any] = field(default_factory=dict)


def compose(
    fitted: dict[str, TextClassifier],
    texts: Sequence[str],
    labels: Sequence[str],
    cascade_max_drop: float = 0.0,
) -> Composition:
    """The model to save from ``fitted`` (family → fitted model, simplest first), chosen and
    calibrated on the validation ``texts``; without validation rows, the first candidate as is.
    Label sets are composed by ``set_composition`` into a ``multi-label`` model."""
    texts, labels = list(texts), list(labels)
    if are_label_sets(labels):
        return compose_sets(fitted, texts, labels, cascade_max_drop)
    scores = {
        family: headline(labels, model.predict_proba(texts), model.classes_)
        for family, model in fitted.items()
        if texts
    }
    candidates = dict(fitted)
    guessing = len(fitted) > 1 and too_few_to_choose(labels)
    if len(fitted) > 1 and not guessing:
        candidates[ENSEMBLE], scores[ENSEMBLE] = weighted_ensemble(
            list(fitted.values()), texts, labels
        )

    def rank(name: str) -> tuple[float, float]:
        score = scores.get(name, {})
        return score.get("accuracy", 0.0), score.get("macro_f1", 0.0)

    winner = by_prior(fitted) if guessing else max(candidates, key=rank)
    composed = Composition(
        candidates[winner], winner, scores, fit_reports=fit_reports(fitted, scores)
    )
    if texts:
        calibrated = CalibratedClassifier(candidates[winner]).fit(texts, labels)
        composed.model = calibrated
        composed.calibration = {"method": "temperature", "temperature": calibrated.temperature_}
        if cascade_max_drop > 0:
            composed.model, composed.cascade = cascaded(
                calibrated, fitted, texts, labels, cascade_max_drop
            )
    return composed


def compose_sets(
    fitted: dict[str, TextClassifier],
    texts: list[str],
    label_sets: list[Any],
    cascade_max_drop: float = 0.0,
) -> Composition:
    """``compose`` for label sets; the saved model is always a ``multi-label`` wrapper, whose
    thresholds are 0.5 where there was nothing to choose them on, or their ``set-cascade``."""
    if not texts:
        first = next(iter(fitted))
        return Composition(MultiLabelClassifier.untuned(fitted[first]), first, {})
    guessing = len(fitted) > 1 and too_few_to_choose_sets(label_sets)
    wrapped, scores = candidates_of_sets(fitted, texts, label_sets, guessing)

    def rank(name: str) -> tuple[float, float]:
        return scores[name]["micro_f1"], scores[name]["macro_f1"]

    winner = by_prior(fitted) if guessing else max(wrapped, key=rank)
    composed = Composition(
        wrapped[winner],
        winner,
        scores,
        calibration=calibration_report(wrapped[winner]),
        fit_reports=fit_reports(fitted, scores),
    )
    if cascade_max_drop > 0:
        composed.model, composed.cascade = cascaded_sets(
            wrapped, winner, texts, label_sets, cascade_max_drop
        )
    return composed


def refit(
    model: TextClassifier,
    texts: Sequence[str],
    labels: Sequence[str],
    resources: ModelResources,
    unlabelled: Sequence[str] = (),
) -> TextClassifier:
    """``model`` as composed, with every member that ``refits`` fitted again on ``texts`` (the
    train and validation splits together). What validation chose stands: the winner, the
    ensemble weights, the temperatures, the cascade threshold; the members learn from the
    validation labels too. On Banking77 that is 0.29 points for about 30 s (``ngram`` and
    ``embedding`` refitted, the ensemble 0.9429 -> 0.9458 on test)."""
    done: dict[int, Any] = {}

    def again(node: Any) -> Any:
        if id(node) not in done:  # a member shared by the cascade and the ensemble: once
            done[id(node)] = _refitted(node, again, texts, labels, resources, unlabelled)
        return done[id(node)]

    return cast(TextClassifier, again(model))


def _refitted(
    node: Any,
    again: Any,
    texts: Sequence[str],
    labels: Sequence[str],
    resources: ModelResources,
    unlabelled: Sequence[str],
) -> Any:
    if isinstance(node, SetCascadeClassifier):  # before its base, ``multi-label``
        first, full = again(node.first), again(node.full)
        return SetCascadeClassifier.joined(first, full, node.max_drop, node.threshold_)
    if isinstance(node, MultiLabelClassifier):
        return MultiLabelClassifier.refitted(again(node.model), node)
    if isinstance(node, CalibratedClassifier):
        return CalibratedClassifier.fitted(again(node.model), node.temperature_)
    if isinstance(node, CascadeClassifier):
        first, full = again(node.first), again(node.full)
        return CascadeClassifier.fitted(first, full, node.max_drop, node.threshold_)
    if isinstance(node, EnsembleClassifier):
        members = [again(member) for member in node.models_]
        return EnsembleClassifier.from_fitted(members, node.weights_, node.pooling)
    if not tags_of(node).refits:
        return node
    try:
        fresh = families.create(node.family, resources, **node.get_params())
        return fit_model(fresh, list(texts), list(labels), unlabelled)
    except (TextloopError, ValueError, TypeError, RuntimeError, MemoryError) as exc:
        log.warning("%s keeps its fit on the train split: %s", family_name(node), exc)
        return node


def judge(
    model: TextClassifier, texts: list[str], labels: list[Any]
) -> tuple[dict[str, float], tuple[float, float]]:
    """A fitted candidate's numbers on validation rows, and the key it is ranked by: accuracy
    then macro-F1, or for label sets micro-F1 then macro-F1 once each label is calibrated and
    thresholded on those rows."""
    if are_label_sets(labels):
        scores = score_sets(MultiLabelClassifier(model).fit(texts, labels), texts, labels)
        return scores, (scores["micro_f1"], scores["macro_f1"])
    scores = headline(labels, model.predict_proba(texts), model.classes_)
    return scores, (scores["accuracy"], scores["macro_f1"])


def too_few_to_choose(labels: Sequence[str]) -> bool:
    """Whether ``labels`` (the validation split's) hold too few texts per label to choose by."""
    return len(labels) < MIN_VALIDATION_PER_LABEL * len(set(labels))


def by_prior(fitted: dict[str, Any]) -> str:
    """The fitted family measured best with few labels; a family the prior does not know (a
    user's own) only where no known one was fitted, the first of them."""
    known = [name for name in FEW_LABELS_PRIOR if name in fitted]
    return known[0] if known else next(iter(fitted))


def worth_fitting(
    candidates: Sequence[str], labels: Sequence[str]
) -> tuple[list[str], dict[str, str]]:
    """The candidates to fit on training texts with these ``labels``, and why any others are
    left out: among several, a family tagged ``min_train_texts`` (fine-tuning an encoder, say,
    whose cost only pays, and whose gain validation can only show, on enough texts) waits until
    there are that many, and one tagged ``max_texts_per_label`` stops where its gain stops
    paying. A family named alone, or with only such others, is always fitted; among several,
    one that cannot learn label sets is left out of a multi-label fit."""
    sets = are_label_sets(labels)
    if sets:
        require_label_set_learners(candidates)
    if len(candidates) == 1:
        return list(candidates), {}
    names = label_names(labels) if sets else set(labels)
    per_label = len(labels) / max(len(names), 1)
    kept, skipped = [], {}
    for family in candidates:
        tags = tags_of(families.get(family))
        if sets and not tags.multi_label:
            skipped[family] = "does not learn label sets (multi-label) yet"
        elif len(labels) < tags.min_train_texts:
            skipped[family] = (
                f"needs {tags.min_train_texts} texts to train on among several, has {len(labels)}"
            )
        elif tags.max_texts_per_label is not None and per_label > tags.max_texts_per_label:
            skipped[family] = (
                f"pays with up to {tags.max_texts_per_label} texts per label among several, "
                f"has {per_label:.0f}"
            )
        else:
            kept.append(family)
    return (kept, skipped) if kept else (list(candidates), {})


def require_label_set_learners(candidates: Sequence[str]) -> None:
    """Refuse a multi-label fit where no candidate learns label sets: one that does not would
    take each distinct set for a class of its own."""
    if any(tags_of(families.get(family)).multi_label for family in candidates):
        return
    learners = [name for name in families.names() if tags_of(families.get(name)).multi_label]
    named = ", ".join(candidates)
    raise InvalidRequest(
        f"{named} cannot learn label sets; a multi-label classifier trains with "
        f"{', '.join(learners)} or auto",
        field="model",
    )


def cascaded(
    model: CalibratedClassifier,
    fitted: dict[str, Any],
    texts: list[str],
    labels: list[str],
    max_drop: float,
) -> tuple[Any, dict[str, Any]]:
    """``model`` behind a cheap first stage, with what the cascade does on validation; ``model``
    itself where it is cheap already, no cheap model was fitted, or none would answer early."""
    winner = model.model
    if tags_of(winner).first_stage:
        return model, {}
    members = [*fitted.values(), *getattr(winner, "models_", [])]
    cheap = [m for m in members if tags_of(m).first_stage]
    if not cheap:
        return model, {}
    first = CalibratedClassifier(cheap[0]).fit(texts, labels)
    cascade = CascadeClassifier(first, model, max_drop).fit(texts, labels)
    early, full = cascade.both(texts)
    share = float(cascade.sure(early).mean())
    report = {
        "first": cheap[0].family,
        "threshold": round(cascade.threshold_, 4),
        "answered_early": round(share, 4),
        "validation_accuracy": {
            "cascade": _accuracy(labels, cascade.combine(early, full), cascade.classes_),
            "full": _accuracy(labels, full, cascade.classes_),
        },
    }
    return (cascade, report) if share > 0 else (model, {**report, "used": False})


def fit_reports(fitted: dict[str, Any], scores: dict[str, dict[str, float]]) -> dict[str, Any]:
    """What a family says its fit did (``fit_report_``: fine-tuning's time and steps, say), with
    its gain on validation over the family it ``improves_on``, where both were candidates."""
    reports: dict[str, Any] = {}
    for family, model in fitted.items():
        report = getattr(model, "fit_report_", None)
        if report is None:
            continue
        reports[family] = dict(report)
        baseline = tags_of(model).improves_on
        if family in scores and baseline in scores:
            gain = scores[family]["accuracy"] - scores[baseline]["accuracy"]
            reports[family]["validation_gain"] = {"over": baseline, "accuracy": round(gain, 4)}
    return reports


def _accuracy(labels: list[str], probabilities: Any, classes: list[str]) -> float:
    return round(headline(labels, probabilities, classes)["accuracy"], 4)


def trained_family(model: Any) -> str:
    """The family that learned, as the CLI names it (``ngram``, ``ensemble``), not ``calibrated``
    or ``cascade``: they wrap winners, so their names would say nothing about the model."""
    wrapped = WRAPPED.get(model.family)
    inner = getattr(model, wrapped, None) if wrapped else None
    return trained_family(inner) if inner is not None else str(model.family)
