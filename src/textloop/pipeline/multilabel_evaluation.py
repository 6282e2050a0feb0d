"""Test-split metrics of a multi-label model in one JSON-ready dictionary, stored with every model
version: ``evaluation``'s counterpart for texts that carry a set of labels.

Micro-F1 leads (``metrics["headline"]``): it pools every label decision, so frequent labels weigh
as much as they occur. Beside it: macro-F1 (each label alike), micro precision and recall, the
share of texts whose whole set is right (subset accuracy), the Hamming loss, how many labels a
text carries and how many texts carry none, per label precision/recall/F1/support with its
threshold, its calibration and an F1 interval, 95 % bootstrap intervals, and micro-F1 and subset
accuracy on the same slices as ``evaluation`` (text length, extra columns).

Every metric is computed from one set of counts (``models.headline.SetCounts``: true positives,
false positives and false negatives per label, exact sets per text) so that the report, its
intervals, its slices and ``models.headline.headline_sets``, which chooses among candidates,
cannot disagree; the tests hold these to scikit-learn's. scikit-learn itself is not called: it
takes a one-label indicator matrix for a binary target and then scores the "absent" class as a
label of its own.

The labels scored are ``classes`` and every true label outside them, which the model can never
answer: it counts as a missed label, and gets its own ``per_class`` row. Where nothing is
positive at all (no text has a label and none is predicted), F1 is 0/0; micro- and macro-F1 then
read 1.0, since every answer is right, as subset accuracy says too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from textloop.models.headline import SetCounts
from textloop.models.label_heads import indicators
from textloop.pipeline.evaluation import (
    BOOTSTRAP_SAMPLES,
    LENGTH_BUCKETS,
    column_groups,
    expected_calibration_error,
)

HEADLINE = "micro_f1"
RESAMPLES_AT_ONCE = 100  # bootstrap resamples counted by one matrix product


def evaluate_sets(
    true_sets: Sequence[Sequence[str]],
    probabilities: np.ndarray,
    classes: Sequence[str],
    thresholds: np.ndarray,
    texts: Sequence[str] | None = None,
    *,
    columns: Mapping[str, Sequence[str | None]] | None = None,
) -> dict[str, Any]:
    """Every metric of the test split; slices by length need ``texts``.

    ``columns`` maps an extra column's name to its value on each test row (in the order of
    ``true_sets``); its slices join the length slices in ``metrics["slices"]``, as in
    ``evaluation.evaluate``.

    Each label's ``ece`` is ``evaluation``'s expected calibration error of its own yes/no
    question: the confidence is ``max(p, 1 - p)`` and it is right when the more probable answer
    (``p >= 0.5``) is the true one. It measures the probabilities, not the thresholds, because
    ``set_confidence`` and review routing read the probabilities. The overall ``ece`` is the mean
    over ``classes``.
    """
    if not true_sets:
        return {"rows": 0, "headline": HEADLINE}
    probabilities = np.asarray(probabilities, dtype=float)
    scored = _score(true_sets, probabilities, classes, thresholds)
    counts = SetCounts.of(scored.truth, scored.guess)
    precision, recall, f1 = counts.per_label()
    intervals = _bootstrap(scored.truth, scored.guess)
    known = len(classes)
    eces = _label_eces(probabilities, scored.truth[:, :known])
    micro_precision, micro_recall = counts.micro_precision_recall()
    metrics: dict[str, Any] = {
        "rows": len(true_sets),
        "headline": HEADLINE,
        "micro_f1": counts.micro_f1(),
        "macro_f1": counts.macro_f1(),
        "micro_precision": micro_precision,
        "micro_recall": micro_recall,
        "subset_accuracy": counts.subset_accuracy(),
        "hamming_loss": counts.hamming_loss(),
        "labels_per_text": {
            "true": float(scored.truth.sum(axis=1).mean()),
            "predicted": float(scored.guess.sum(axis=1).mean()),
        },
        "texts_with_none": {
            "true": int((~scored.truth.any(axis=1)).sum()),
            "predicted": int((~scored.guess.any(axis=1)).sum()),
        },
        "per_class": {
            label: {
                "precision": float(precision[j]),
                "recall": float(recall[j]),
                "f1": float(f1[j]),
                "support": int(counts.support[j]),
                "threshold": float(thresholds[j]) if j < known else None,
                "ece": eces[j] if j < known else None,
                "interval": {"f1": intervals.label_f1[j]},
            }
            for j, label in enumerate(scored.labels)
        },
        "ece": float(np.mean(eces)) if eces else 0.0,
        "confidence_intervals": intervals.overall,
    }
    if texts is not None:
        metrics["slices"] = length_slices(scored.truth, scored.guess, texts)
    for column, values in (columns or {}).items():
        metrics.setdefault("slices", {}).update(
            column_slices(scored.truth, scored.guess, values, column)
        )
    return metrics


def label_calibration_error(
    probabilities: np.ndarray, true_sets: Sequence[Sequence[str]], classes: Sequence[str]
) -> float:
    """The report's overall ``ece`` (the mean over ``classes`` of each label's) for any
    probabilities of the same texts: the error before calibration, to set beside the one
    after."""
    probabilities = np.asarray(probabilities, dtype=float)
    if probabilities.shape != (len(true_sets), len(classes)):
        raise ValueError(
            f"{len(true_sets)} texts and {len(classes)} classes need (n, L) probabilities, "
            f"got {probabilities.shape}"
        )
    eces = _label_eces(probabilities, indicators(true_sets, classes).astype(bool))
    return float(np.mean(eces)) if eces else 0.0


def _label_eces(probabilities: np.ndarray, truth: np.ndarray) -> list[float]:
    """Each label's calibration error as a yes/no question (``evaluate_sets`` says why)."""
    return [
        expected_calibration_error(
            np.maximum(probabilities[:, j], 1.0 - probabilities[:, j]),
            (probabilities[:, j] >= 0.5) == truth[:, j],
        )
        for j in range(truth.shape[1])
    ]


def length_slices(
    truth: np.ndarray, guess: np.ndarray, texts: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Micro-F1 and subset accuracy by text length, in ``evaluation``'s buckets and names."""
    lengths = np.array([len(text) for text in texts])
    slices: dict[str, dict[str, float]] = {}
    for low, high, name in (*LENGTH_BUCKETS, (200, None, ">200 chars")):
        rows = (lengths > low) & (lengths <= (high if high is not None else np.inf))
        if rows.any():
            slices[f"length {name}"] = _slice(truth, guess, rows)
    return slices


def column_slices(
    truth: np.ndarray, guess: np.ndarray, values: Sequence[str | None], column: str
) -> dict[str, dict[str, float]]:
    """Micro-F1 and subset accuracy per value of one column, keyed ``"<column>=<value>"``, by
    ``evaluation.column_slices``'s rules: a missing value and an empty one are values of their
    own, and only the most frequent values get a slice."""
    groups = column_groups(values, column, len(truth))
    return {key: _slice(truth, guess, rows) for key, rows in groups.items()}


def _slice(truth: np.ndarray, guess: np.ndarray, rows: np.ndarray) -> dict[str, float]:
    counts = SetCounts.of(truth[rows], guess[rows])
    return {
        "rows": int(rows.sum()),
        "micro_f1": counts.micro_f1(),
        "subset_accuracy": counts.subset_accuracy(),
    }


@dataclass(frozen=True)
class _Scored:
    labels: list[str]  # ``classes``, then the true labels outside them, sorted
    truth: np.ndarray  # (n, len(labels)) bool
    guess: np.ndarray  # (n, len(labels)) bool; never true for a label outside ``classes``


def _score(
    true_sets: Sequence[Sequence[str]],
    probabilities: np.ndarray,
    classes: Sequence[str],
    thresholds: np.ndarray,
) -> _Scored:
    thresholds = np.asarray(thresholds, dtype=float)
    if probabilities.shape != (len(true_sets), len(classes)) or thresholds.shape != (len(classes),):
        raise ValueError(
            f"{len(true_sets)} texts and {len(classes)} classes need (n, L) probabilities and "
            f"L thresholds, got {probabilities.shape} and {thresholds.shape}"
        )
    known = set(classes)
    unknown = sorted({name for names in true_sets for name in names} - known)
    labels = [*classes, *unknown]
    answered = probabilities >= thresholds
    guess = np.hstack([answered, np.zeros((len(true_sets), len(unknown)), dtype=bool)])
    return _Scored(labels, indicators(true_sets, labels).astype(bool), guess)


@dataclass(frozen=True)
class _Intervals:
    overall: dict[str, list[float]]
    label_f1: list[list[float] | None]  # None: the label is never seen in any resample


def _bootstrap(
    truth: np.ndarray, guess: np.ndarray, samples: int = BOOTSTRAP_SAMPLES
) -> _Intervals:
    """95 % percentile intervals from resampling texts, seeded and drawn as ``evaluation``'s
    ``bootstrap_intervals`` draws them. A resample is a count of how often each text was drawn,
    so its counts are one matrix product: resamples x texts times texts x (per-label tp, fp, fn,
    exact). A label's F1 interval leaves out the resamples in which it is neither present nor
    predicted, where its F1 is undefined."""
    rows, labels = truth.shape
    # float32 counts are exact up to 2**24 and multiply several times faster than float64
    exact_counts = np.float32 if rows < 2**24 else np.float64
    per_text = np.hstack(
        [truth & guess, guess & ~truth, truth & ~guess, (truth == guess).all(axis=1)[:, None]]
    ).astype(exact_counts)
    rng = np.random.default_rng(0)
    drawn = []
    for start in range(0, samples, RESAMPLES_AT_ONCE):
        weights = np.stack(
            [
                np.bincount(rng.integers(0, rows, rows), minlength=rows).astype(exact_counts)
                for _ in range(min(RESAMPLES_AT_ONCE, samples - start))
            ]
        )
        drawn.append(weights @ per_text)
    totals = np.vstack(drawn).astype(float)
    tp, fp, fn = (totals[:, k * labels : (k + 1) * labels] for k in range(3))
    exact = totals[:, -1]
    pooled_tp, pooled_wrong = tp.sum(axis=1), fp.sum(axis=1) + fn.sum(axis=1)
    denominator = 2 * tp + fp + fn
    seen = denominator > 0
    label_f1 = np.divide(2 * tp, denominator, out=np.full_like(tp, np.nan), where=seen)
    seen_count = seen.sum(axis=1)
    micro = np.where(
        2 * pooled_tp + pooled_wrong > 0,
        2 * pooled_tp / np.maximum(2 * pooled_tp + pooled_wrong, 1),
        1.0,
    )
    macro = np.where(seen_count > 0, np.nansum(label_f1, axis=1) / np.maximum(seen_count, 1), 1.0)
    return _Intervals(
        overall={
            "micro_f1": _percentiles(micro),
            "macro_f1": _percentiles(macro),
            "subset_accuracy": _percentiles(exact / rows),
        },
        label_f1=[
            _percentiles(label_f1[seen[:, j], j]) if seen[:, j].any() else None
            for j in range(labels)
        ],
    )


def _percentiles(values: np.ndarray) -> list[float]:
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]
