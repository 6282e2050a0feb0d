"""Reviewed labels flow back into the data, and a retrain job ships a better model or none."""

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select, update

from tests.conftest import Templates
from tests.corpus import TOPICS, corpus_rows
from textloop.config import Settings
from textloop.continuous import merge as merge_module
from textloop.continuous.merge import merge_reviewed_labels
from textloop.continuous.retrain import retrain
from textloop.continuous.triggers import RETRAIN, configure, request_retrain
from textloop.data.datasets import load_splits
from textloop.data.readers import read_labelled_file
from textloop.errors import InvalidRequest, NotFound
from textloop.metadata.runs import show_run
from textloop.notifications.events import list_events
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.registry.aliases import PRODUCTION, SHADOW, set_shadow
from textloop.release.deploy import deploy_model
from textloop.release.rollback import previous_version, rollback
from textloop.review.assignments import claim_next, decide
from textloop.security.accounts import create_user
from textloop.store import Store
from textloop.store.queries import (
    aliased_model,
    get_classifier,
    get_model_version,
    latest_dataset_version,
)
from textloop.store.tables import Job, JobStatus, ReviewTask
from textloop.worker import Worker

QUEUED, RUNNING, SUCCEEDED = JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED
MOVES = ["model.deployed", "model.rolled_back", "model.staged"]


def deploy_ngram(store: Store, settings: Settings, corpus_csv: Path) -> None:
    ingest_batch(store, settings, "topics", read_labelled_file(corpus_csv), "corpus")
    train_classifier(store, settings, "topics", "ngram", deploy=True)


@pytest.fixture
def deployed(store: Store, settings: Settings, corpus_csv: Path, templates: Templates) -> int:
    """``topics`` with ngram v1 in production, retraining after 3 labels; returns a reviewer."""
    templates.apply(store, settings, corpus_csv, deploy_ngram)
    with store.session() as session:
        configure(session, "topics", retrain_after=3)
        return create_user(session, "ann@example.com", "a long password", "reviewer").id


def review(store: Store, reviewer: int, labelled: list[tuple[str, str]]) -> None:
    """Open tasks for the texts, then answer each through the portal's code path."""
    with store.session() as session:
        classifier = get_classifier(session, "topics")
        for text, _ in labelled:
            session.add(ReviewTask(classifier_id=classifier.id, source="pool", text=text))
    truth = dict(labelled)
    while True:
        with store.session() as session:
            task = claim_next(session, "topics", reviewer)
            if task is None:
                return
            decide(session, task.id, reviewer, truth[task.text])


def examples(store: Store) -> dict[str, tuple[str, str]]:
    with store.session() as session:
        dataset = latest_dataset_version(session, get_classifier(session, "topics"))
        splits = load_splits(session, dataset.id)
    return {
        text: (label, split)
        for split, (texts, labels) in splits.items()
        for text, label in zip(texts, labels, strict=True)
    }


def test_reviewed_labels_override_older_ones_keep_their_split_and_add_new_texts(
    store: Store, settings: Settings, deployed: int, corpus_csv: Path
) -> None:
    mislabelled = "rain and storm in the forecast for the stadium"
    corpus = read_labelled_file(corpus_csv)
    extra = pa.table({"text": [mislabelled], "label": ["sport"]})
    data = pa.concat_tables([corpus.select(["text", "label"]), extra])
    ingest_batch(store, settings, "topics", data, "corpus with an error")
    before = examples(store)
    new_text = f"{TOPICS['weather'][0]} {TOPICS['weather'][1]} over the hills today"
    with store.session() as session:
        configure(session, "topics", retrain_after=0)
    review(store, deployed, [(mislabelled, "weather"), (new_text, "weather")])
    merged = merge_reviewed_labels(store, settings, "topics")
    after = examples(store)
    assert (merged.reviewed, merged.flagged, merged.relabelled, merged.added) == (2, 0, 1, 1)
    assert after[mislabelled] == ("weather", before[mislabelled][1])
    assert after[new_text][0] == "weather" and len(after) == len(before) + 1
    assert merge_reviewed_labels(store, settings, "topics").dataset_version is None  # all merged


def test_a_review_label_that_looks_wrong_goes_to_a_second_review_not_into_the_data(
    store: Store, settings: Settings, deployed: int
) -> None:
    before = examples(store)
    text = next(text for text, (label, _) in before.items() if label == "sport")
    review(store, deployed, [(text, "finance")])
    merged = merge_reviewed_labels(store, settings, "topics")
    assert (merged.reviewed, merged.flagged, merged.dataset_version) == (0, 1, None)
    with store.session() as session:
        sources = session.scalars(select(ReviewTask.source).where(ReviewTask.status == "open"))
        assert list(sources) == ["second_review"]


def test_enough_reviewed_labels_queue_one_retrain(store: Store, deployed: int) -> None:
    words = TOPICS["sport"]
    texts = [(f"{words[i]} {words[i + 1]} match report {i}", "sport") for i in range(5)]
    review(store, deployed, texts[:2])
    with store.session() as session:
        assert session.scalars(select(Job)).all() == []
    review(store, deployed, texts[2:])
    with store.session() as session:
        jobs = session.scalars(select(Job)).all()
    assert [(job.kind, job.status, job.payload["trigger"]) for job in jobs] == [
        ("retrain", QUEUED, "labels")
    ]


def test_a_retrain_job_merges_trains_and_deploys_a_blessed_model_and_says_so(
    store: Store, settings: Settings, deployed: int
) -> None:
    with store.session() as session:
        with pytest.raises(NotFound, match="unknown model family 'nope'"):
            configure(session, "topics", model="nope")
        configure(session, "topics", model="ngram")  # what automatic retrains train
        session.commit()
    words = TOPICS["finance"]
    labelled = [(f"{words[i]} {words[i + 2]} this quarter", "finance") for i in range(3)]
    review(store, deployed, labelled)
    assert Worker(store, settings).run_once()
    with store.session() as session:
        job = session.scalars(select(Job)).one()
        production = aliased_model(session, get_classifier(session, "topics"), PRODUCTION)
        events = [(e.type, e.data.get("version")) for e in list_events(session)]
    assert job.status == SUCCEEDED and job.result["merged"]["reviewed"] == 3
    assert job.result["blessed"] and job.result["deployed"] and production.version == 2
    assert list(production.metrics["validation"]) == ["ngram"]  # one family, not auto's three
    assert events == [
        ("model.deployed", 1),  # the fixture's ``train --deploy``
        ("run.started", None),
        ("model.blessed", 2),
        ("model.deployed", 2),
        ("run.succeeded", 2),
    ]


def test_a_retrain_tunes_as_the_settings_say(
    store: Store, settings: Settings, deployed: int
) -> None:
    """A configured search runs in retrains too, not only when someone trains by hand."""
    with store.session() as session:
        request_retrain(session, "topics", model="ngram", dataset_version=1)
    assert Worker(store, settings.with_flags(tune_trials=2)).run_once()
    with store.session() as session:
        job = session.scalars(select(Job)).one()
        run = show_run(session, job.result["run"])
    (tune,) = [step for step in run["steps"] if step["step"] == "tune"]
    assert len(tune["outputs"][0]["properties"]["trials"]) == 1 + 2  # the defaults, then two


def test_every_way_production_moves_announces_it_and_ends_the_shadowing(
    store: Store, settings: Settings, deployed: int
) -> None:
    """``train --deploy`` (the pipeline's deploy step), a deploy and a rollback go through one
    door: each is in the deployment history and emits its event."""
    trained = train_classifier(store, settings, "topics", "ngram", use_cache=False)
    with store.session() as session:
        set_shadow(session, "topics", trained.version)
    deployed_again = train_classifier(
        store, settings, "topics", "ngram", deploy=True, use_cache=False
    )
    assert deployed_again.deployment is not None and deployed_again.deployment["deployed"]
    with store.session() as session:
        topics = get_classifier(session, "topics")
        assert aliased_model(session, topics, PRODUCTION).version == deployed_again.version
        moves = [(e.type, e.data["version"]) for e in list_events(session, types=MOVES)]
    assert moves == [("model.deployed", 1), ("model.deployed", deployed_again.version)]
    rollback(store, settings, "topics")
    deploy_model(store, settings, "topics", trained.version)
    with store.session() as session:
        topics = get_classifier(session, "topics")
        assert aliased_model(session, topics, SHADOW) is None  # deployed: nothing to shadow
        moves = [(e.type, e.data["version"]) for e in list_events(session, types=MOVES)]
    assert moves == [
        ("model.deployed", 1),  # the fixture's ``train --deploy``
        ("model.deployed", deployed_again.version),
        ("model.rolled_back", 1),
        ("model.deployed", trained.version),
    ]


def test_a_failed_run_leaves_production_alone_reports_and_is_retried(
    store: Store, settings: Settings, deployed: int
) -> None:
    with store.session() as session:
        request_retrain(session, "topics", model="no-such-family")
    assert Worker(store, settings).run_once()
    with store.session() as session:
        job = session.scalars(select(Job)).one()
        production = aliased_model(session, get_classifier(session, "topics"), PRODUCTION)
        events = [e.type for e in list_events(session)]
    assert job.status == QUEUED and job.attempts == 1 and "no-such-family" in job.error
    assert production.version == 1
    assert events == ["model.deployed", "run.started", "run.failed"]


def test_manual_deploy_mode_keeps_a_blessed_candidate_out_of_production(
    store: Store, settings: Settings, deployed: int
) -> None:
    with store.session() as session:
        configure(session, "topics", deploy_mode="manual")
        request_retrain(session, "topics", dataset_version=1)
    assert Worker(store, settings).run_once()
    with store.session() as session:
        job = session.scalars(select(Job)).one()
        production = aliased_model(session, get_classifier(session, "topics"), PRODUCTION)
        shadow = aliased_model(session, get_classifier(session, "topics"), SHADOW)
    assert job.status == SUCCEEDED and job.result["version"] == 2
    assert not job.result["deployed"] and production.version == 1
    assert shadow.version == 2  # the waiting candidate scores live traffic meanwhile


def test_rollback_returns_production_to_the_version_it_replaced_and_says_so(
    store: Store, settings: Settings, deployed: int
) -> None:
    with store.session() as session:
        assert previous_version(session, get_classifier(session, "topics").id, 1) is None
    with pytest.raises(InvalidRequest, match="nothing to roll back to"):
        rollback(store, settings, "topics")
    train_classifier(store, settings, "topics", "ngram", deploy=True, use_cache=False)
    moved = rollback(store, settings, "topics")
    assert (moved.version, moved.previous_version) == (1, 2)
    assert rollback(store, settings, "topics").version == 2  # a second rollback undoes the first
    with store.session() as session:
        rolled = [e.data for e in list_events(session, types=["model.rolled_back"])]
    assert [(e["from_version"], e["version"]) for e in rolled] == [(2, 1), (1, 2)]


def test_a_rollback_checks_no_gate_so_it_needs_neither_the_files_nor_a_probe(
    store: Store, settings: Settings, deployed: int
) -> None:
    """Forced, as a rollback is: the version it returns to is taken as it was served."""
    train_classifier(store, settings, "topics", "ngram", deploy=True, use_cache=False)
    with store.session() as session:
        first = get_model_version(session, get_classifier(session, "topics"), 1)
        first.infra_validation = None  # as an imported bundle's: never probed
    moved = rollback(store, settings, "topics")
    assert (moved.version, moved.previous_version) == (1, 2)
    with store.session() as session:
        assert (
            get_model_version(session, get_classifier(session, "topics"), 1).infra_validation
            is None
        )
    assert deploy_model(store, settings, "topics", 1).previous_version == 1  # nothing moves


def test_a_waiting_retrain_absorbs_automatic_triggers_but_not_other_explicit_requests(
    store: Store, deployed: int
) -> None:
    with store.session() as session:
        first = request_retrain(session, "topics", model="ngram")
        assert request_retrain(session, "topics", model="ngram").id == first.id
        assert request_retrain(session, "topics", trigger="labels").id == first.id
        other = request_retrain(session, "topics", model="embedding")
        backfill = request_retrain(session, "topics", dataset_version=1)
        assert len({first.id, other.id, backfill.id}) == 3


def test_a_labels_retrain_whose_merge_is_not_yet_trained_trains_it(
    store: Store, settings: Settings, deployed: int, corpus_csv: Path
) -> None:
    """As when an earlier attempt merged the labels and then failed: nothing waits, yet the
    newest dataset version has no model."""
    corpus = read_labelled_file(corpus_csv)
    ingest_batch(store, settings, "topics", corpus.slice(0, 100), "a newer version")
    with store.session() as session:
        request_retrain(session, "topics", model="ngram", trigger="labels")
    assert Worker(store, settings).run_once()
    with store.session() as session:
        job = session.scalars(select(Job)).one()
    assert "skipped" not in job.result and job.result["dataset_version"] == 2


def test_retraining_unchanged_data_moves_nothing_and_leaves_rollback_alone(
    store: Store, settings: Settings, deployed: int
) -> None:
    train_classifier(store, settings, "topics", "ngram", deploy=True)  # v2, against v1
    again = train_classifier(store, settings, "topics", "ngram", deploy=True)  # all cached
    assert again.cached and again.version == 2
    assert again.deployment is not None and not again.deployment["deployed"]
    assert "version 2 is production already" in again.deployment["reasons"]
    assert rollback(store, settings, "topics").version == 1  # not "back" to version 2


@pytest.mark.storage
def test_a_worker_whose_job_was_taken_over_meanwhile_does_not_deploy_its_candidate(
    store: Store, settings: Settings, deployed: int
) -> None:
    with store.session() as session:
        configure(session, "topics", model="ngram")
    words = TOPICS["finance"]
    review(
        store, deployed, [(f"{words[i]} {words[i + 2]} this quarter", "finance") for i in range(3)]
    )

    def lease_lost_while_training(store, settings, name, payload, resources):
        """The retrain, during which this worker's heartbeats stop reaching the database and
        another worker claims the job, as ``queue.claim`` does once the lease runs out."""
        with store.session() as session:
            session.execute(update(Job).values(worker="another-worker", attempts=Job.attempts + 1))
        return retrain(store, settings, name, payload, resources)

    worker = Worker(store, settings, handlers={RETRAIN: lease_lost_while_training})
    assert worker.run_once()

    with store.session() as session:
        job = session.scalars(select(Job)).one()
        topics = get_classifier(session, "topics")
        production = aliased_model(session, topics, PRODUCTION)
        deployed_events = list_events(session, types=["model.deployed"])
    assert production.version == 1
    assert [e.data["version"] for e in deployed_events] == [1]  # the fixture's, none since
    assert (job.status, job.worker) == (RUNNING, "another-worker")  # the outcome is not A's


@pytest.mark.storage
def test_an_upload_that_lands_while_labels_are_merged_is_not_left_out(
    store: Store, settings: Settings, deployed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = TOPICS["finance"]
    review(
        store, deployed, [(f"{words[i]} {words[i + 2]} this quarter", "finance") for i in range(3)]
    )
    rows = [*corpus_rows(), ("an uploaded line about hail and thunder", "weather")]
    upload = pa.table({"text": [t for t, _ in rows], "label": [label for _, label in rows]})
    ingest = merge_module.ingest_batch
    uploaded: list[int] = []

    def upload_lands_first(*args: Any, **kwargs: Any) -> Any:
        """An upload committed between the merge's read of the newest version and its write."""
        if not uploaded:
            uploaded.append(ingest(store, settings, "topics", upload, "upload").version)
        return ingest(*args, **kwargs)

    monkeypatch.setattr(merge_module, "ingest_batch", upload_lands_first)
    merged = merge_reviewed_labels(store, settings, "topics")

    assert merged.dataset_version == uploaded[0] + 1
    newest = examples(store)
    assert newest["an uploaded line about hail and thunder"][0] == "weather"
    assert merged.reviewed == 3 and newest[f"{words[0]} {words[2]} this quarter"][0] == "finance"


def test_a_multi_label_candidate_waits_for_an_admin_shadowed_like_any_other(
    store: Store, settings: Settings, both_modes: Store
) -> None:
    with store.session() as session:
        configure(session, "tags", deploy_mode="manual", model="ngram")
        request_retrain(session, "tags")
    assert Worker(store, settings).run_once()
    with store.session() as session:
        job = session.scalars(select(Job)).one()
        tags = get_classifier(session, "tags")
        production = aliased_model(session, tags, PRODUCTION)
        shadow = aliased_model(session, tags, SHADOW)
    assert job.status == SUCCEEDED, job.error
    assert job.result["version"] == 2 and job.result["blessed"] and not job.result["deployed"]
    assert production.version == 1 and shadow.version == 2
