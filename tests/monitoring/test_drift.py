"""Drift monitoring: a full window of off-topic traffic is reported and announced once; a window
like the held-out rows is reported as no drift."""

import random
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.corpus import corpus_rows, write_corpus
from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.errors import InvalidRequest
from textloop.jobs.queue import enqueue
from textloop.models.base import ModelResources
from textloop.monitoring.drift import (
    DRIFT,
    MIN_WINDOW,
    RECHECK_AFTER,
    check_drift,
    configure_drift,
    enqueue_due_drift_checks,
    latest_reports,
)
from textloop.monitoring.measures import label_shift
from textloop.notifications.events import list_events
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.predict.classify import classify
from textloop.predict.model_cache import ModelCache
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import Job, JobStatus, utcnow
from textloop.worker import Worker

SUCCEEDED = JobStatus.SUCCEEDED

pytestmark = pytest.mark.slow  # embeds the windows with the sentence encoder

WINDOW = 60
KITCHEN = ["flour", "oven", "butter", "whisk", "saucepan", "garlic", "simmer", "dough", "pepper"]


def off_topic(count: int) -> list[str]:
    rng = random.Random(3)
    return [
        "stir the {} into the {} slowly, then let the {} rest beside the {} for a while".format(
            *rng.sample(KITCHEN, 4)
        )
        for _ in range(count)
    ]


@pytest.fixture
def monitored(store: Store, settings: Settings, tmp_path: Path) -> ModelCache:
    corpus = write_corpus(tmp_path / "big.csv", per_label=150)
    ingest_batch(store, settings, "topics", read_labelled_file(corpus), "corpus")
    train_classifier(store, settings, "topics", "ngram", deploy=True)
    with store.session() as session:
        # small samples: the KS statistics of 60 texts are noisier than the defaults allow for
        configure_drift(session, "topics", WINDOW, {"length_ks": 0.5, "confidence_ks": 0.5})
    return ModelCache(artifacts_for(settings), ModelResources())


def send(store: Store, cache: ModelCache, texts: list[str]) -> None:
    classify(store, cache, "topics", texts)


def check(store: Store, worker: Worker) -> None:
    with store.session() as session:
        assert enqueue_due_drift_checks(session) == 1
        session.commit()
    assert worker.run_once()


def test_off_topic_traffic_is_reported_as_drift_and_announced_once(
    store: Store, settings: Settings, monitored: ModelCache
) -> None:
    worker = Worker(store, settings, ModelResources())
    in_domain = [text for text, _ in corpus_rows(per_label=150, seed=99)][:WINDOW]
    send(store, monitored, in_domain[: WINDOW - 1])
    with store.session() as session:
        assert enqueue_due_drift_checks(session) == 0  # the window is not full yet
    send(store, monitored, in_domain[WINDOW - 1 :])
    check(store, worker)

    send(store, monitored, off_topic(WINDOW))
    check(store, worker)
    send(store, monitored, off_topic(WINDOW))
    check(store, worker)

    with store.session() as session:
        newest, drifting, calm = latest_reports(session, "topics")
        assert not calm.drifted and calm.breached == [], calm.measures
        assert calm.measures["embedding_auc"] < 0.75
        assert drifting.drifted and newest.drifted
        assert {"embedding_auc", "oov_increase"} <= set(drifting.breached)
        assert drifting.window_size == WINDOW
        assert [job.status for job in session.scalars(select(Job))] == ["succeeded"] * 3
        events = list_events(session, types=["drift.detected"])
        assert len(events) == 1  # drift that goes on is announced once
        assert events[0].data["breached"] == drifting.breached


def test_drift_settings_are_checked(store: Store, classifier_id: int) -> None:
    with store.session() as session:
        with pytest.raises(InvalidRequest, match="unknown drift measure 'vibes'"):
            configure_drift(session, "topics", changed={"vibes": 0.3})
        with pytest.raises(InvalidRequest, match="window must be 50-100,000"):
            configure_drift(session, "topics", window=10)


def test_label_shift_is_near_zero_for_one_distribution_and_large_for_another() -> None:
    rng = random.Random(0)
    labels = [f"intent_{i}" for i in range(40)]
    same = label_shift(rng.choices(labels, k=1000), rng.choices(labels, k=300))
    other = label_shift(rng.choices(labels, k=1000), rng.choices(labels[:5], k=300))
    assert same < 0.1 < 0.4 < other


def test_a_check_that_made_no_report_is_not_queued_again_at_once(
    store: Store, monitored: ModelCache
) -> None:
    send(store, monitored, [text for text, _ in corpus_rows(per_label=150, seed=5)][:WINDOW])
    with store.session() as session:
        job = enqueue(session, DRIFT, get_classifier(session, "topics").id)
        job.status, job.result, job.finished_at = SUCCEEDED, {"skipped": "why not"}, utcnow()
        session.commit()
        assert enqueue_due_drift_checks(session) == 0  # the window is full, but not yet again
        job.finished_at = utcnow() - RECHECK_AFTER - timedelta(seconds=1)
        session.commit()
        assert enqueue_due_drift_checks(session) == 1


def test_a_forced_check_draws_no_verdict_from_a_window_below_the_minimum(
    store: Store, settings: Settings, monitored: ModelCache
) -> None:
    send(store, monitored, off_topic(MIN_WINDOW - 1))
    result = check_drift(store, settings, "topics", {"force": True})
    assert result == {
        "skipped": f"{MIN_WINDOW - 1} predictions by the production model; a verdict needs "
        f"at least {MIN_WINDOW}"
    }
    with store.session() as session:
        assert latest_reports(session, "topics") == []
    send(store, monitored, off_topic(1))
    assert "report" in check_drift(store, settings, "topics", {"force": True})


def test_a_multi_label_classifier_s_drift_compares_the_sets_it_answers(
    both_modes: Store, settings: Settings, tmp_path: Path
) -> None:
    """Label shift is measured over the answered sets (the empty one included), confidence
    over each set's confidence: off-topic traffic, answered mostly with no label, shifts the
    sets where traffic like the held-out rows does not."""
    from tests.corpus import label_set_rows, write_label_sets
    from textloop.data.label_sets import Mode
    from textloop.data.readers import ReadOptions

    more = write_label_sets(tmp_path / "more.csv", texts=600)  # held-out rows to compare with
    table = read_labelled_file(more, options=ReadOptions(multi_label=True))
    ingest_batch(both_modes, settings, "tags", table, "more", mode=Mode.MULTI_LABEL)
    train_classifier(both_modes, settings, "tags", "ngram", deploy=True)
    cache = ModelCache(artifacts_for(settings), ModelResources())
    with both_modes.session() as session:
        configure_drift(session, "tags", MIN_WINDOW, {"length_ks": 0.9, "confidence_ks": 0.9})
    like = [text for text, _ in label_set_rows(MIN_WINDOW, seed=21)]
    classify(both_modes, cache, "tags", like)
    calm = check_drift(both_modes, settings, "tags", {"force": True})
    classify(both_modes, cache, "tags", off_topic(MIN_WINDOW))
    stormy = check_drift(both_modes, settings, "tags", {"force": True})
    with both_modes.session() as session:
        second, first = latest_reports(session, "tags", limit=2)
    assert (first.id, second.id) == (calm["report"], stormy["report"])
    assert second.measures["label_shift"] > first.measures["label_shift"]
    assert "label_shift" in second.breached and "label_shift" not in first.breached
    assert second.measures["out_of_scope_rate"] == 0.0  # a set is never out of scope
