"""Only a candidate that is not worse than production on the same test rows is blessed."""

import csv
from pathlib import Path

import pyarrow as pa
import pytest

from textloop.cli.demo import bundled_file
from textloop.config import Settings
from textloop.data.datasets import ingest_table, with_fixed_test_split
from textloop.errors import NotBlessed
from textloop.pipeline.blessing import BlessingThresholds, bless
from textloop.pipeline.training import train_classifier
from textloop.registry.aliases import PRODUCTION, set_alias
from textloop.store import Store


def result(accuracy: float, macro_f1: float, per_class: dict | None = None) -> dict:
    return {"rows": 100, "accuracy": accuracy, "macro_f1": macro_f1, "per_class": per_class or {}}


def test_the_first_model_is_blessed_for_lack_of_a_rival() -> None:
    verdict = bless(result(0.5, 0.5), None, None)
    assert verdict.blessed and verdict.reasons == ["no production model to compare with"]


def test_a_drop_within_the_allowance_is_blessed() -> None:
    assert bless(result(0.897, 0.897), result(0.900, 0.900), 3).blessed


def test_a_drop_beyond_the_allowance_is_refused_with_the_numbers() -> None:
    verdict = bless(result(0.80, 0.90), result(0.90, 0.90), 3)
    assert not verdict.blessed
    assert verdict.reasons == [
        "accuracy 0.8000 is 0.1000 below production's 0.9000 (allowed drop 0.0090)"
    ]
    assert verdict.production == {"accuracy": 0.90, "macro_f1": 0.90}


def test_a_class_that_collapses_is_refused_even_when_the_average_holds() -> None:
    old = {"a": {"f1": 0.9, "support": 50}, "b": {"f1": 0.9, "support": 50}}
    new = {"a": {"f1": 1.0, "support": 50}, "b": {"f1": 0.6, "support": 50}}
    verdict = bless(result(0.9, 0.9, new), result(0.9, 0.9, old), 1)
    assert not verdict.blessed
    assert "class 'b' F1 0.600 fell 0.300" in verdict.reasons[0]
    tolerant = BlessingThresholds(max_class_f1_drop=0.5)
    assert bless(result(0.9, 0.9, new), result(0.9, 0.9, old), 1, tolerant).blessed


def banking_subset(rows: int) -> pa.Table:
    with bundled_file("train.csv").open(encoding="utf-8") as handle:
        train = [(r["text"], r["category"]) for r in csv.DictReader(handle)][::3][:rows]
    with bundled_file("test.csv").open(encoding="utf-8") as handle:
        test = [(r["text"], r["category"]) for r in csv.DictReader(handle)][::3]
    table = pa.table({"text": [t for t, _ in train], "label": [lab for _, lab in train]})
    test_table = pa.table({"text": [t for t, _ in test], "label": [lab for _, lab in test]})
    return with_fixed_test_split(table, test_table, {"train": 0.9, "validation": 0.1})


def test_a_model_trained_on_a_tenth_of_the_data_is_not_blessed_or_deployed(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    with store.session() as session:
        ingest_table(session, "bank", banking_subset(1200), "full", settings.split_fractions)
    train_classifier(store, settings, "bank", "ngram")
    with store.session() as session:
        set_alias(session, "bank", PRODUCTION, 1)
        ingest_table(session, "bank", banking_subset(120), "tenth", settings.split_fractions)
    report = train_classifier(store, settings, "bank", "ngram")

    assert report.blessing["blessed"] is False
    assert report.blessing["production_version"] == 1
    assert report.blessing["candidate"]["accuracy"] < report.blessing["production"]["accuracy"]
    assert "accuracy" in report.blessing["reasons"][0]
    with store.session() as session, pytest.raises(NotBlessed, match="was not blessed"):
        set_alias(session, "bank", PRODUCTION, 2)
    with store.session() as session:
        assert set_alias(session, "bank", PRODUCTION, 2, force=True).previous_version == 1
