"""The human output of an evaluation: classes worst F1 first (10 of many), then the slices."""

from __future__ import annotations

from typing import Any

from textloop.cli.evaluation import print_evaluation
from textloop.cli.output import out


def _metrics(classes: int) -> dict[str, Any]:
    per_class = {
        f"label{i:02d}": {"precision": 0.5, "recall": 0.5, "f1": i / 100, "support": 3}
        for i in range(classes)
    }
    slices = {
        "length 1-50 chars": {"rows": 12, "accuracy": 0.83333333, "macro_f1": 0.8},
        "channel=email": {"rows": 7, "accuracy": 0.714285714, "macro_f1": 0.7},
    }
    return {"per_class": per_class, "slices": slices}


def _printed(metrics: dict[str, Any], all_classes: bool = False) -> str:
    with out.capture() as captured:
        print_evaluation(metrics, all_classes=all_classes)
    return captured.get()


def test_77_classes_show_the_worst_10_and_say_how_many_more() -> None:
    text = _printed(_metrics(77))
    assert "label00" in text and "label09" in text and "label10" not in text
    assert text.index("label00") < text.index("label09")
    assert "67 more with --all-classes or --json" in text
    assert "0.090" in text  # rounded to 3 decimals


def test_all_classes_prints_every_class() -> None:
    text = _printed(_metrics(77), all_classes=True)
    assert "label76" in text and "more with" not in text


def test_slices_are_a_table_of_column_value_rows_accuracy_and_macro_f1() -> None:
    text = _printed(_metrics(3))
    assert "per slice" in text
    line = next(row for row in text.splitlines() if "email" in row)
    assert "channel" in line and "7" in line and "0.714" in line and "0.700" in line
    assert any("length" in row and "1-50 chars" in row for row in text.splitlines())
