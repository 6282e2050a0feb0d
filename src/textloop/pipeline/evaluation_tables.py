"""Stored test metrics as rows for people: classes worst F1 first, slices by column and value.

Shared by the CLI and the portal, so both show the same rows in the same order. Numbers stay
unrounded here; each renderer rounds for its medium.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SHOWN_CLASSES = 10
LENGTH_PREFIX = "length "


@dataclass(frozen=True)
class ClassRow:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class SliceRow:
    """A slice's two headline numbers, named by ``slice_metrics``: accuracy and macro-F1, or
    for label sets micro-F1 and subset accuracy."""

    column: str  # "length" for the built-in text-length slices
    value: str
    rows: int
    first: float
    second: float


# keys in a slice's stored scores, and their names for people, by the metrics' headline
SLICE_METRICS = {
    "accuracy": (("accuracy", "accuracy"), ("macro_f1", "macro-F1")),
    "micro_f1": (("micro_f1", "micro-F1"), ("subset_accuracy", "subset accuracy")),
}


def slice_metrics(metrics: dict[str, Any]) -> tuple[str, str]:
    """The names of a slice row's ``first`` and ``second`` numbers for these metrics."""
    first, second = SLICE_METRICS[metrics.get("headline", "accuracy")]
    return first[1], second[1]


def class_rows(metrics: dict[str, Any]) -> list[ClassRow]:
    """Every class of ``metrics["per_class"]``, worst F1 first (ties: more support first)."""
    rows = [
        ClassRow(
            label,
            float(scores["precision"]),
            float(scores["recall"]),
            float(scores["f1"]),
            int(scores["support"]),
        )
        for label, scores in (metrics.get("per_class") or {}).items()
    ]
    return sorted(rows, key=lambda row: (row.f1, -row.support, row.label))


def slice_rows(metrics: dict[str, Any]) -> list[SliceRow]:
    """Every slice of ``metrics["slices"]``, split into column and value, in stored order."""
    (first, _), (second, _) = SLICE_METRICS[metrics.get("headline", "accuracy")]
    rows = []
    for key, scores in (metrics.get("slices") or {}).items():
        if key.startswith(LENGTH_PREFIX):
            column, value = "length", key[len(LENGTH_PREFIX) :]
        else:
            column, _, value = key.partition("=")
        rows.append(
            SliceRow(
                column,
                value,
                int(scores["rows"]),
                float(scores[first]),
                float(scores[second]),
            )
        )
    return rows


def evaluation_tables(metrics: dict[str, Any]) -> dict[str, Any]:
    """A model version's stored metrics as ``{"classes": [...], "slices": [...], "scope":
    [...]}`` (test split)."""
    test = metrics.get("test") or {}
    return {
        "classes": class_rows(test),
        "slices": slice_rows(test),
        "slice_metrics": slice_metrics(test),
        "scope": scope_rows(test),
    }


# the out-of-scope measures, in the order and the words people read them in
SCOPE_MEASURES = (
    ("in_scope_kept", "in-scope test texts kept in scope"),
    ("in_scope_accuracy", "in-scope accuracy (those sent aside count as wrong)"),
    ("out_of_scope_texts", "out-of-scope test texts"),
    ("out_of_scope_recall", "out-of-scope recall"),
    ("out_of_scope_precision", "out-of-scope precision"),
    ("auroc", "AUROC (in scope against out of scope)"),
)


def scope_rows(metrics: dict[str, Any]) -> list[tuple[str, float]]:
    """What the out-of-scope detector did on the test split (and the out-of-scope test file),
    as (measure, value) rows; none for a model without a detector."""
    scope = metrics.get("out_of_scope") or {}
    return [(words, float(scope[key])) for key, words in SCOPE_MEASURES if key in scope]
