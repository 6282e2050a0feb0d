"""``discover``: a classifier's recent doubted texts grouped into clusters that are candidate new
labels, and a cluster made a label whose texts go to review suggesting it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, update

from tests.conftest import Templates
from tests.review.discovered import COOKING, TRAVEL, answer, deploy_and_doubt, model_cache
from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.errors import InvalidRequest, NotFound
from textloop.models.base import ModelResources
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.predict.model_cache import ModelCache
from textloop.review.assignments import claim_next, decide
from textloop.review.clustering import MIN_CLUSTER_SIZE
from textloop.review.discovered_labels import add_label_from_cluster
from textloop.review.discovery import (
    UNSURE,
    Discovery,
    Window,
    clusters_of,
    discover,
    parse_since,
    read_candidates,
)
from textloop.security.accounts import create_user
from textloop.store import Store
from textloop.store.queries import get_classifier, get_or_create_classifier
from textloop.store.stored_labels import decode, label_set
from textloop.store.tables import Prediction, ReviewStatus, ReviewTask, TaskSource, utcnow

IN_SCOPE = ["the striker scored a goal", "rain and snow tomorrow", "the bank raised interest"]


@pytest.fixture
def doubting(store: Store, settings: Settings, corpus_csv: Path, templates: Templates) -> Store:
    """``topics`` deployed, every answer of it doubted (threshold 1)."""
    templates.apply(store, settings, corpus_csv, deploy_and_doubt)
    return store


@pytest.fixture
def models(settings: Settings) -> ModelCache:
    return model_cache(settings)


@pytest.fixture
def answered(doubting: Store, models: ModelCache) -> Store:
    """Cooking and travel questions, and a few in-scope texts, answered (and doubted)."""
    answer(doubting, models, [*COOKING, *IN_SCOPE, *TRAVEL])
    return doubting


def doubted(store: Store) -> list[str]:
    """The texts answered below the threshold (1: all but those answered with certainty)."""
    with store.session() as session:
        return list(
            session.scalars(select(Prediction.text).where(Prediction.confidence < 1.0)).all()
        )


def cluster_of(found: Discovery, texts: list[str]) -> list[str]:
    """The texts of the cluster holding most of ``texts``."""
    best = max(found.clusters, key=lambda cluster: len(set(cluster.texts) & set(texts)))
    return best.texts


@pytest.mark.storage
def test_texts_about_two_missing_subjects_come_back_as_two_clusters(
    answered: Store, models: ModelCache
) -> None:
    found = discover(answered, models, "topics")
    candidates = doubted(answered)
    assert found.candidates.predictions == len(candidates)
    assert {c.text for c in found.candidates.texts} == set(candidates)
    assert not found.model_encoder  # an n-gram model: the default encoder embeds
    for subject in (COOKING, TRAVEL):
        texts = cluster_of(found, subject)
        assert set(texts) <= set(subject)  # nothing of another subject
        assert len(texts) >= len(set(subject) & set(candidates)) - 2
    assert found.unclustered + sum(c.size for c in found.clusters) == len(found.candidates.texts)
    cooking = next(c for c in found.clusters if set(c.texts) <= set(COOKING))
    assert {"bake", "bread", "oven", "recipe", "cookies"} & set(cooking.keywords[:3])
    assert cooking.representatives == cooking.texts[:3]
    assert cooking.model_label in ("sport", "finance", "weather")
    assert 0 < cooking.model_label_share <= 1
    with answered.session() as session:
        ids = dict(session.execute(select(Prediction.text, Prediction.id)).all())
    assert cooking.prediction_ids == [ids[text] for text in cooking.texts]
    assert [c.number for c in found.clusters] == list(range(1, len(found.clusters) + 1))
    assert [c.size for c in found.clusters] == sorted(
        (c.size for c in found.clusters), reverse=True
    )


def test_the_same_predictions_cluster_the_same_way_and_a_cluster_is_found_by_number_or_key(
    answered: Store, models: ModelCache
) -> None:
    first = discover(answered, models, "topics")
    again = discover(answered, models, "topics")
    assert [c.as_dict() for c in again.clusters] == [c.as_dict() for c in first.clusters]
    chosen = first.clusters[0]
    assert again.cluster("1") == chosen and again.cluster(chosen.key.upper()) == chosen
    with pytest.raises(
        NotFound, match=f"there is no cluster 9: discover found {len(first.clusters)}"
    ):
        again.cluster("9")
    with pytest.raises(NotFound, match="no cluster has key 'ffffffff' now"):
        again.cluster("ffffffff")


def test_a_text_answered_twice_is_one_text_of_its_newest_prediction(
    answered: Store, models: ModelCache
) -> None:
    text = next(text for text in COOKING if text in doubted(answered))
    answer(answered, models, [text])
    found = discover(answered, models, "topics")
    assert found.candidates.predictions == len(doubted(answered))
    assert [c.text for c in found.candidates.texts].count(text) == 1
    assert len(found.candidates.texts) == found.candidates.predictions - 1
    with answered.session() as session:
        newest = session.scalars(
            select(Prediction.id)
            .where(Prediction.text == text)
            .order_by(Prediction.created_at.desc())
        ).first()
    (again,) = [c for c in found.candidates.texts if c.text == text]
    assert again.prediction_id == newest


def test_the_window_takes_the_newest_predictions_within_since(
    answered: Store, models: ModelCache
) -> None:
    with answered.session() as session:
        session.execute(
            update(Prediction)
            .where(Prediction.text.in_(TRAVEL))
            .values(created_at=utcnow() - timedelta(days=40))
        )
    recent = discover(answered, models, "topics", Window(since=timedelta(days=30)))
    assert not {c.text for c in recent.candidates.texts} & set(TRAVEL)
    ever = discover(answered, models, "topics", Window(since=None))
    assert set(TRAVEL) <= {c.text for c in ever.candidates.texts}
    newest = discover(answered, models, "topics", Window(since=None, limit=4))
    assert len(newest.candidates.texts) == 4
    assert not {c.text for c in newest.candidates.texts} & set(TRAVEL)  # the oldest


def test_answers_less_sure_than_the_cutoff_are_candidates_and_surer_ones_are_not(
    answered: Store, models: ModelCache
) -> None:
    with answered.session() as session:
        get_classifier(session, "topics").threshold = 0.0  # reviews nothing
        sure = dict(session.execute(select(Prediction.text, Prediction.confidence)).all())
    cut = float(np.median(list(sure.values())))
    found = discover(answered, models, "topics", Window(below=cut))
    assert {c.text for c in found.candidates.texts} == {t for t, c in sure.items() if c < cut}
    default = discover(answered, models, "topics")  # below UNSURE: above the threshold here
    assert {c.text for c in default.candidates.texts} == {t for t, c in sure.items() if c < UNSURE}
    nothing = discover(answered, models, "topics", Window(below=min(sure.values())))
    assert nothing.candidates.texts == [] and nothing.clusters == [] and nothing.unclustered == 0


def test_the_default_cutoff_is_wider_than_review_unless_review_is_wider() -> None:
    assert Window().cutoff(0.5) == UNSURE == 0.7
    assert Window().cutoff(0.9) == 0.9
    assert Window(below=0.3).cutoff(0.9) == 0.3


def test_nothing_to_discover_is_an_empty_discovery(doubting: Store, models: ModelCache) -> None:
    found = discover(doubting, models, "topics")
    assert found.candidates.predictions == 0
    assert found.clusters == [] and found.unclustered == 0
    assert found.as_dict()["clusters"] == []


def test_unknown_classifier_and_one_without_a_model_are_named(
    doubting: Store, models: ModelCache
) -> None:
    with pytest.raises(NotFound, match="classifier 'nope' does not exist"):
        discover(doubting, models, "nope")
    with doubting.session() as session:
        get_or_create_classifier(session, "fresh")  # a classifier with no model yet
    with pytest.raises(NotFound, match="classifier 'fresh' has no deployed model"):
        discover(doubting, models, "fresh")


def test_a_window_is_checked() -> None:
    assert parse_since("12h") == timedelta(hours=12)
    assert parse_since(" 2W ") == timedelta(weeks=2)
    for bad in ("", "0d", "7", "7 days", "-1d"):
        with pytest.raises(InvalidRequest, match="since must be a duration such as 30m"):
            parse_since(bad)
    with pytest.raises(InvalidRequest, match="limit must be between 1 and 10,000, not 0"):
        Window(limit=0)


@pytest.mark.storage
def test_adding_a_label_from_a_cluster_sends_each_text_to_review_once(
    answered: Store, models: ModelCache
) -> None:
    """The model's doubts opened a task for every text: those still open now suggest the new
    label; a settled one is left alone, and a text without a task gets a new one."""
    cooking = next(
        c for c in discover(answered, models, "topics").clusters if set(c.texts) <= set(COOKING)
    )
    settled, untasked, *still_open = cooking.texts
    with answered.session() as session:
        reviewer = create_user(session, "rita@example.com", "a long password", "reviewer")
        session.execute(update(ReviewTask).where(ReviewTask.text == untasked).values(text="gone"))
        task = next(t for t in session.scalars(select(ReviewTask)) if t.text == settled)
        task.created_at = utcnow() - timedelta(hours=1)  # the queue's oldest: claimed first
    with answered.session() as session:
        assert claim_next(session, "topics", reviewer.id).text == settled
        decide(session, task.id, reviewer.id, "finance")
    with answered.session() as session:
        added = add_label_from_cluster(session, "topics", " baking ", cooking.prediction_ids)
    assert (added.label, added.texts) == ("baking", len(cooking.texts))
    assert (added.opened, added.resuggested, added.left) == (1, len(still_open), 1)
    with answered.session() as session:
        assert get_classifier(session, "topics").labels[-1] == "baking"
        tasks = {
            task.text: task
            for task in session.scalars(select(ReviewTask).where(ReviewTask.text.in_(COOKING)))
        }
    assert tasks[settled].final_label == "finance" and tasks[settled].suggested_label != "baking"
    new = tasks[untasked]
    assert (new.source, new.status, new.suggested_label) == ("discovered", "open", "baking")
    assert new.prediction_id == cooking.prediction_ids[1]
    for text in still_open:
        assert tasks[text].source == TaskSource.IMPLICIT  # the same task, a new suggestion
        assert (tasks[text].status, tasks[text].suggested_label) == ("open", "baking")
    with answered.session() as session:
        open_tasks = session.scalars(
            select(ReviewTask.text).where(ReviewTask.status == ReviewStatus.OPEN)
        ).all()
    assert len(open_tasks) == len(set(open_tasks))  # no text has two


def test_texts_sent_to_review_with_a_new_label_are_not_discovered_again(
    answered: Store, models: ModelCache
) -> None:
    before = discover(answered, models, "topics")
    cooking = next(c for c in before.clusters if set(c.texts) <= set(COOKING))
    with answered.session() as session:
        add_label_from_cluster(session, "topics", "baking", cooking.prediction_ids)
    after = discover(answered, models, "topics")
    assert not {c.text for c in after.candidates.texts} & set(cooking.texts)
    assert after.candidates.dealt_with == len(cooking.texts)
    assert all(not set(c.texts) & set(COOKING) for c in after.clusters)


def test_a_refused_label_changes_nothing(answered: Store, models: ModelCache) -> None:
    cluster = discover(answered, models, "topics").clusters[0]
    with answered.session() as session:
        tasks_before = {t.id: t.suggested_label for t in session.scalars(select(ReviewTask))}
    for name, reason in (
        ("sport", "'sport' is a label of 'topics' already"),
        ("  ", "a new label needs a name"),
    ):
        with pytest.raises(InvalidRequest, match=reason), answered.session() as session:
            add_label_from_cluster(session, "topics", name, cluster.prediction_ids)
    with answered.session() as session:
        assert get_classifier(session, "topics").labels == ["finance", "sport", "weather"]
        after = {t.id: t.suggested_label for t in session.scalars(select(ReviewTask))}
    assert after == tasks_before


def test_predictions_of_no_cluster_of_the_classifier_are_refused(
    answered: Store, models: ModelCache
) -> None:
    cluster = discover(answered, models, "topics").clusters[0]
    with pytest.raises(InvalidRequest, match="predictions are needed"), answered.session() as s:
        add_label_from_cluster(s, "topics", "baking", [" ", ""])
    with (
        pytest.raises(InvalidRequest, match=r"1 of the \d+ predictions are not predictions of"),
        answered.session() as session,
    ):
        add_label_from_cluster(session, "topics", "baking", [*cluster.prediction_ids, "f" * 32])
    with answered.session() as session:
        assert "baking" not in get_classifier(session, "topics").labels


def test_texts_of_one_missing_subject_among_stragglers_are_one_cluster(
    doubting: Store, models: ModelCache
) -> None:
    answer(doubting, models, [*COOKING, *IN_SCOPE, *TRAVEL[:2]])
    found = discover(doubting, models, "topics")
    assert len(found.clusters) == 1
    assert set(found.clusters[0].texts) <= set(COOKING)
    assert found.clusters[0].size >= MIN_CLUSTER_SIZE


def test_out_of_scope_answers_are_candidates_however_sure_and_staging_answers_are_not(
    answered: Store, models: ModelCache
) -> None:
    sure = next(text for text in IN_SCOPE if text not in doubted(answered))
    with answered.session() as session:
        session.execute(update(Prediction).where(Prediction.text == sure).values(out_of_scope=True))
        session.execute(
            update(Prediction).where(Prediction.text.in_(TRAVEL)).values(alias="staging")
        )
    texts = {c.text for c in discover(answered, models, "topics").candidates.texts}
    assert sure in texts
    assert not texts & set(TRAVEL)  # a release on trial: its doubts are not production's


def test_a_model_with_an_encoder_embeds_with_its_own(
    store: Store, settings: Settings, corpus_csv: Path
) -> None:
    ingest_batch(store, settings, "embedded", read_labelled_file(corpus_csv), "corpus")
    train_classifier(store, settings, "embedded", "embedding", deploy=True)
    with store.session() as session:
        get_classifier(session, "embedded").threshold = 1.0
    models = model_cache(settings)
    answer(store, models, [*COOKING, *TRAVEL], name="embedded")
    found = discover(store, models, "embedded")
    assert found.model_encoder and found.encoder == "all-MiniLM-L6-v2"
    assert any(set(c.texts) <= set(COOKING) for c in found.clusters)


def test_a_multi_label_task_keeps_its_suggested_set_and_gains_the_new_label(
    both_modes: Store, settings: Settings
) -> None:
    models = model_cache(settings)
    with both_modes.session() as session:
        get_classifier(session, "tags").threshold = 1.0
    answer(both_modes, models, [*COOKING, *TRAVEL], name="tags")
    found = discover(both_modes, models, "tags")
    cooking = next(c for c in found.clusters if set(c.texts) <= set(COOKING))
    with both_modes.session() as session:
        before = {
            t.text: decode(t.suggested_label or "")
            for t in session.scalars(select(ReviewTask).where(ReviewTask.text.in_(cooking.texts)))
        }
        added = add_label_from_cluster(session, "tags", "baking", cooking.prediction_ids)
    assert added.resuggested == len(cooking.texts)
    with both_modes.session() as session:
        for task in session.scalars(select(ReviewTask).where(ReviewTask.text.in_(cooking.texts))):
            assert decode(task.suggested_label or "") == label_set([*before[task.text], "baking"])


def test_a_server_refuses_rather_than_load_pytorch_for_a_model_without_an_encoder(
    answered: Store, settings: Settings, tmp_path: Path
) -> None:
    """``topics`` is n-gram only: its texts would be embedded by the default encoder, which has
    no ONNX export in this pool's (empty) folder, so a server would load PyTorch for the page."""
    bare = ModelResources(exports=tmp_path / "no-exports", runtime="onnx-int8")
    models = ModelCache(artifacts_for(settings), bare)
    candidates = read_candidates(answered, "topics")
    with pytest.raises(InvalidRequest, match="has no ONNX export here for the server"):
        clusters_of(candidates, models, torch=False)
    assert not bare.encoder_pool().loaded()  # nothing was loaded to ask
