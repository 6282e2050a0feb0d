"""Tuning searches each family's hyper-parameters within a budget and records every trial."""

from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.models.base import ModelResources, load_model
from textloop.pipeline.components.tune import configurations
from textloop.pipeline.training import train_classifier
from textloop.store import Store
from textloop.store.queries import get_classifier, get_model_version


def test_defaults_come_first_then_the_whole_grid_in_a_seeded_order() -> None:
    first, *grid = configurations("ngram", seed=0)
    assert first == {}
    # 4 values of C times 3 n-gram ranges, less the point that repeats the defaults
    assert len(grid) == 4 * 3 - 1 and len({str(g) for g in grid}) == 11
    assert {"C": 30.0, "char_ngrams": [2, 5]} not in grid
    assert configurations("ngram", seed=0) == [first, *grid]
    assert configurations("majority", seed=0) == [{}]


def test_without_a_budget_nothing_is_tried_and_the_defaults_stand(
    ingested: Store, settings: Settings
) -> None:
    report = train_classifier(ingested, settings, "topics", "ngram")
    assert report.tuning["trials"] == []
    assert report.tuning["best"]["ngram"]["C"] == 30.0


def test_every_trial_is_recorded_and_the_best_one_is_trained(
    ingested: Store, settings: Settings
) -> None:
    report = train_classifier(ingested, settings.with_flags(tune_trials=3), "topics", "ngram")
    trials = report.tuning["trials"]
    assert len(trials) == 1 + 3
    assert trials[0]["params"]["C"] == 30.0  # the defaults, measured first
    best = max(trials, key=lambda t: (t["accuracy"], t["macro_f1"]))
    assert report.tuning["best"]["ngram"] == best["params"]
    assert report.candidates["ngram"]["accuracy"] == best["accuracy"]
    with ingested.session() as session:
        record = get_model_version(session, get_classifier(session, "topics"), report.version)
        path = artifacts_for(settings).local(record.artifact_uri)
    assert (
        load_model(path, ModelResources()).model.get_params() == best["params"]
    )  # inside the calibration


def test_a_spent_time_budget_stops_after_the_defaults(ingested: Store, settings: Settings) -> None:
    tight = settings.with_flags(tune_trials=5, tune_seconds=0.0)
    report = train_classifier(ingested, tight, "topics", "ngram")
    assert [t["params"]["C"] for t in report.tuning["trials"]] == [30.0]


def test_tuned_members_keep_their_parameters_inside_auto(
    ingested: Store, settings: Settings
) -> None:
    report = train_classifier(
        ingested,
        settings.with_flags(tune_trials=2),
        "topics",
        resources=ModelResources(),
        auto_candidates=("ngram", "majority"),
    )
    families = [t["family"] for t in report.tuning["trials"]]
    assert families[:2] == ["ngram", "majority"]  # each family's defaults first
    assert families.count("ngram") == 3  # majority has nothing to tune
