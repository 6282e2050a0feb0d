"""Training registers a numbered, evaluated model version; auto keeps the better candidate."""

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.data.datasets import ingest_table
from textloop.errors import DataError, NotFound, TrainingError
from textloop.models.base import ModelResources, families, load_model
from textloop.models.baseline import MajorityClassifier
from textloop.models.cascade import CascadeClassifier
from textloop.models.ngram import NgramClassifier
from textloop.models.out_of_scope import detector_of
from textloop.pipeline.training import train_classifier
from textloop.registry.aliases import PRODUCTION, set_alias
from textloop.store import Store
from textloop.store.queries import aliased_model, get_classifier, get_model_version


def test_training_registers_version_one_with_test_metrics(
    ingested: Store, settings: Settings
) -> None:
    report = train_classifier(ingested, settings, "topics", "ngram")
    assert (report.version, report.family, report.dataset_version) == (1, "ngram", 1)
    assert report.test_metrics["accuracy"] > 0.8
    with ingested.session() as session:
        record = get_model_version(session, get_classifier(session, "topics"), 1)
        assert record.metrics["test"]["rows"] == report.test_metrics["rows"]
        model = load_model(artifacts_for(settings).local(record.artifact_uri), ModelResources())
    assert model.classes_ == ["finance", "sport", "weather"]


def test_versions_count_up(ingested: Store, settings: Settings) -> None:
    train_classifier(ingested, settings, "topics", "majority")
    assert train_classifier(ingested, settings, "topics", "ngram").version == 2


def test_auto_keeps_the_candidate_that_is_better_on_validation(
    ingested: Store, settings: Settings
) -> None:
    report = train_classifier(
        ingested, settings, "topics", "auto", auto_candidates=("majority", "ngram")
    )
    assert report.family in ("ngram", "ensemble")
    assert set(report.candidates) == {"majority", "ngram", "ensemble"}
    assert report.candidates["ngram"]["accuracy"] > report.candidates["majority"]["accuracy"]
    best = max(score["accuracy"] for score in report.candidates.values())
    assert report.candidates[report.family]["accuracy"] == best


@contextmanager
def registered(name: str, family: type) -> Iterator[None]:
    """A user's family, registered for one test only."""
    families.register(name)(family)
    try:
        yield
    finally:
        families.unregister(name)


class Unfittable(MajorityClassifier):
    """A user's family whose fit fails, as an encoder that cannot be exported would."""

    def fit(self, texts, labels):  # type: ignore[no-untyped-def]
        raise TrainingError("this family cannot be fitted here")


def test_among_several_candidates_one_that_fails_is_left_out_with_its_error(
    ingested: Store, settings: Settings
) -> None:
    with registered("unfittable", Unfittable):
        report = train_classifier(
            ingested, settings, "topics", "auto", auto_candidates=("ngram", "unfittable")
        )
        assert report.family == "ngram" and set(report.candidates) == {"ngram"}
        assert report.skipped == {"unfittable": "failed: this family cannot be fitted here"}
        with pytest.raises(TrainingError, match="cannot be fitted here"):
            train_classifier(ingested, settings, "topics", "unfittable")


def test_deploy_moves_the_production_alias(ingested: Store, settings: Settings) -> None:
    train_classifier(ingested, settings, "topics", "majority")
    train_classifier(ingested, settings, "topics", "ngram")
    with ingested.session() as session:
        first = set_alias(session, "topics", PRODUCTION, 1)
        second = set_alias(session, "topics", PRODUCTION)
        assert aliased_model(session, get_classifier(session, "topics"), PRODUCTION).version == 2
    assert (first.previous_version, second.previous_version, second.version) == (None, 1, 2)


def test_training_with_deploy_promotes_only_a_blessed_version(
    ingested: Store, settings: Settings
) -> None:
    assert train_classifier(ingested, settings, "topics", "ngram", deploy=True).version == 1
    worse = train_classifier(ingested, settings, "topics", "majority", deploy=True)
    assert worse.blessing["blessed"] is False
    with ingested.session() as session:
        assert aliased_model(session, get_classifier(session, "topics"), PRODUCTION).version == 1


def test_unknown_classifier_family_and_version_are_clear_errors(
    ingested: Store, settings: Settings
) -> None:
    with pytest.raises(NotFound, match="classifier 'nope' does not exist"):
        train_classifier(ingested, settings, "nope", "ngram")
    with pytest.raises(NotFound, match="unknown model family"):
        train_classifier(ingested, settings, "topics", "gpt")
    with ingested.session() as session, pytest.raises(NotFound, match="no model version 9"):
        set_alias(session, "topics", PRODUCTION, 9)


def test_a_single_label_dataset_cannot_be_trained(store: Store, settings: Settings) -> None:
    import pyarrow as pa

    with store.session() as session:
        table = pa.table({"text": [f"t {i}" for i in range(30)], "label": ["a"] * 30})
        ingest_table(session, "mono", table, "x", settings.split_fractions)
    with pytest.raises(TrainingError, match="at least 2 are needed"):
        train_classifier(store, settings, "mono", "ngram")
    with store.session() as session:
        assert aliased_model(session, get_classifier(session, "mono"), PRODUCTION) is None


def test_test_metrics_are_sliced_by_an_extra_column_the_user_names(
    store: Store, settings: Settings
) -> None:
    import pyarrow as pa

    from tests.corpus import corpus_rows

    rows = corpus_rows()
    channels = ["email" if i % 3 else "chat" for i in range(len(rows))]
    table = pa.table(
        {
            "text": [text for text, _ in rows],
            "label": [label for _, label in rows],
            "extra:channel": channels,
        }
    )
    with store.session() as session:
        ingest_table(session, "topics", table, "with channels", settings.split_fractions)
    report = train_classifier(store, settings, "topics", "ngram", slice_columns=("channel",))
    slices = report.test_metrics["slices"]
    by_channel = {name: s for name, s in slices.items() if name.startswith("channel=")}
    assert set(by_channel) == {"channel=email", "channel=chat"}
    assert sum(s["rows"] for s in by_channel.values()) == report.test_metrics["rows"]
    with pytest.raises(DataError, match="no column 'chanel'; its extra columns are: channel"):
        train_classifier(store, settings, "topics", "ngram", slice_columns=("chanel",))


class Expensive(NgramClassifier):
    """A user's family that stands for one with an encoder: never cheap enough to go first."""

    first_stage = False


def test_a_cheap_candidate_answers_first_where_it_is_sure_and_the_run_says_how_often(
    ingested: Store, settings: Settings
) -> None:
    with registered("expensive", Expensive):
        report = train_classifier(
            ingested, settings, "topics", "auto", auto_candidates=("expensive", "ngram")
        )
        assert report.cascade["first"] == "ngram" and report.cascade["answered_early"] > 0
        tested = report.calibration["cascade"]
        assert 0 < tested["answered_early"] <= 1
        assert tested["accuracy"] == report.test_metrics["accuracy"]  # what is served
        with ingested.session() as session:
            record = get_model_version(session, get_classifier(session, "topics"), 1)
            model = load_model(artifacts_for(settings).local(record.artifact_uri), ModelResources())
        assert isinstance(model, CascadeClassifier) and record.family in ("expensive", "ensemble")
        assert model.threshold_ == report.cascade["threshold"]

        off = dataclasses.replace(settings, cascade_max_drop=0.0)
        plain = train_classifier(
            ingested, off, "topics", "auto", auto_candidates=("expensive", "ngram")
        )
        assert plain.cascade == {} and "cascade" not in plain.calibration


def test_a_fine_tuning_budget_of_zero_leaves_the_fine_tuned_family_out_of_auto(
    ingested: Store, settings: Settings
) -> None:
    off = dataclasses.replace(settings, finetune_seconds=0.0)
    report = train_classifier(
        ingested, off, "topics", "auto", auto_candidates=("ngram", "finetuned")
    )
    assert set(report.candidates) == {"ngram"} and report.fit_reports == {}


def test_training_learns_when_a_text_fits_no_label_and_the_run_says_what_it_costs(
    ingested: Store, settings: Settings
) -> None:
    """With no out-of-scope example: the threshold keeps the share of validation texts asked
    for, the test split (all in scope) says how many it kept, and the saved model carries it."""
    on = dataclasses.replace(settings, out_of_scope_recall=0.95)  # on: it is off in tests
    report = train_classifier(ingested, on, "topics", "embedding")
    assert report.out_of_scope["recall"] == 0.95
    assert report.out_of_scope["signs"] == ["probability", "nearest"]
    tested = report.test_metrics["out_of_scope"]
    assert 0.5 <= tested["in_scope_kept"] <= 1
    assert tested["in_scope_accuracy"] <= report.test_metrics["accuracy"]
    with ingested.session() as session:
        record = get_model_version(session, get_classifier(session, "topics"), 1)
        model = load_model(artifacts_for(settings).local(record.artifact_uri), ModelResources())
    assert detector_of(model) is not None

    off = dataclasses.replace(settings, out_of_scope_recall=0.0)
    plain = train_classifier(ingested, off, "topics", "embedding")
    assert plain.out_of_scope == {} and "out_of_scope" not in plain.test_metrics
