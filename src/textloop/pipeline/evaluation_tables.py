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
    column: str  # "length" for the built-in text-length slices
    value: str
    rows: int
    accuracy: float
    macro_f1: float


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
                float(scores["accuracy"]),
                float(scores["macro_f1"]),
            )
        )
    return rows


def evaluation_tables(metrics: dict[str, Any]) -> dict[str, Any]:
    """A model version's stored metrics as ``{"classes": [...], "slices": [...]}`` (test split)."""
    test = metrics.get("test") or {}
    return {"classes": class_rows(test), "slices": slice_rows(test)}
