"""Prints a model version's test evaluation: the per-class table and the per-slice table."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from textloop.cli.output import out
from textloop.pipeline.evaluation_tables import (
    SHOWN_CLASSES,
    class_rows,
    slice_metrics,
    slice_rows,
)


def print_evaluation(metrics: dict[str, Any], all_classes: bool = False) -> None:
    """Classes worst F1 first (the worst 10 unless ``all_classes``), then the slices."""
    classes = class_rows(metrics)
    if classes:
        shown = classes if all_classes else classes[:SHOWN_CLASSES]
        table = Table("class", "precision", "recall", "F1", "support", title="per class (test)")
        for row in shown:
            table.add_row(
                escape(row.label),
                f"{row.precision:.3f}",
                f"{row.recall:.3f}",
                f"{row.f1:.3f}",
                f"{row.support:,}",
            )
        out.print(table)
        hidden = len(classes) - len(shown)
        if hidden:
            out.print(
                f"  worst {len(shown)} of {len(classes)} classes shown; {hidden} more with "
                "--all-classes or --json",
                highlight=False,
            )
    slices = slice_rows(metrics)
    if slices:
        first, second = slice_metrics(metrics)
        table = Table("slice column", "value", "rows", first, second, title="per slice (test)")
        for piece in slices:
            table.add_row(
                escape(piece.column),
                escape(piece.value),
                f"{piece.rows:,}",
                f"{piece.first:.3f}",
                f"{piece.second:.3f}",
            )
        out.print(table)
