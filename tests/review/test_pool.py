"""The pool keeps each unlabelled text once; sampling sends the most useful to review."""

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, select, update

from tests.conftest import Templates
from tests.corpus import TOPICS
from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.errors import InvalidRequest, NotFound
from textloop.models.base import ModelResources
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.predict.model_cache import ModelCache
from textloop.review import pool as pool_module
from textloop.review.pool import add_to_pool, sample_pool
from textloop.review.strategies import strategies
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import PoolText, ReviewTask

RNG = np.random.default_rng(3)
WORDS = [word for words in TOPICS.values() for word in words]
POOL = [" ".join(RNG.choice(WORDS, size=3, replace=False)) + f" #{i}" for i in range(60)]


def deploy_with_pool(store: Store, settings: Settings, corpus_csv: Path) -> None:
    ingest_batch(store, settings, "topics", read_labelled_file(corpus_csv), "corpus")
    train_classifier(store, settings, "topics", "ngram", deploy=True)
    with store.session() as session:
        add_to_pool(session, "topics", POOL)


@pytest.fixture
def deployed(
    store: Store, settings: Settings, corpus_csv: Path, templates: Templates
) -> ModelCache:
    templates.apply(store, settings, corpus_csv, deploy_with_pool)
    return ModelCache(artifacts_for(settings), ModelResources())


def test_each_text_enters_the_pool_once(store: Store, deployed: ModelCache) -> None:
    with store.session() as session:
        again = add_to_pool(session, "topics", [POOL[0], f"  {POOL[1]}  ", "", None, "new text"])
    assert (again.added, again.duplicates, again.empty, again.size) == (1, 2, 2, 61)


@pytest.mark.parametrize("strategy", ["least-confidence", "margin", "breaking-ties", "entropy"])
def test_uncertainty_strategies_pick_the_texts_the_model_is_least_sure_of(
    store: Store, deployed: ModelCache, strategy: str
) -> None:
    tasks = sample_pool(store, deployed, "topics", 5, strategy)
    chosen = {task.text for task in tasks}
    assert {task.source for task in tasks} == {"pool"}
    assert all(len(task.scores) == 3 for task in tasks)
    model = next(iter(deployed._models.values()))
    usefulness = strategies.get(strategy)().usefulness(model.predict_proba(POOL))
    expected = {POOL[i] for i in np.argsort(-usefulness, kind="stable")[:5]}
    assert chosen == expected


def test_sampled_texts_leave_the_pool_and_are_not_chosen_again(
    store: Store, deployed: ModelCache
) -> None:
    first = {t.text for t in sample_pool(store, deployed, "topics", 40, "random", seed=1)}
    rest = {t.text for t in sample_pool(store, deployed, "topics", 40, "random", seed=1)}
    with store.session() as session:
        left = session.scalars(select(PoolText).where(PoolText.sampled_at.is_(None))).all()
    assert len(first) == 40 and len(rest) == 20 and not first & rest and left == []


def test_streaming_in_small_chunks_chooses_the_same_texts(
    store: Store, deployed: ModelCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = [t.text for t in sample_pool(store, deployed, "topics", 7, "margin")]
    with store.session() as session:  # back to an unsampled pool
        session.execute(delete(ReviewTask))
        session.execute(update(PoolText).values(sampled_at=None))
    monkeypatch.setattr(pool_module, "CHUNK", 4)
    chunked = [t.text for t in sample_pool(store, deployed, "topics", 7, "margin")]
    assert chunked == whole


@pytest.mark.slow
def test_the_diverse_strategy_spreads_one_batch_over_clusters(
    store: Store, deployed: ModelCache
) -> None:
    tasks = sample_pool(store, deployed, "topics", 4, "diverse")
    texts = [t.text for t in tasks]
    assert len(texts) == len(set(texts)) == 4
    with store.session() as session:
        assert session.scalars(select(ReviewTask.source)).all() == ["pool"] * 4


def test_bad_strategies_and_sizes_are_refused(store: Store, deployed: ModelCache) -> None:
    with pytest.raises(NotFound, match="unknown query strategy 'smart'; known strategies"):
        sample_pool(store, deployed, "topics", 5, "smart")
    with pytest.raises(InvalidRequest, match="n must be between 1 and 10000"):
        sample_pool(store, deployed, "topics", 0, "margin")


def test_a_classifier_without_a_model_draws_its_first_labels_at_random(
    store: Store, settings: Settings, corpus_csv: Path
) -> None:
    ingest_batch(store, settings, "topics", read_labelled_file(corpus_csv), "corpus")
    cache = ModelCache(artifacts_for(settings), ModelResources())
    with store.session() as session:
        add_to_pool(session, "topics", POOL)
    with pytest.raises(NotFound, match="'topics' has no deployed model"):
        sample_pool(store, cache, "topics", 5, "margin")
    tasks = sample_pool(store, cache, "topics", 5, "random", seed=2)
    assert len({task.text for task in tasks}) == 5
    assert all(t.suggested_label is None and t.scores is None for t in tasks)


def test_the_pool_feeds_training_of_families_that_learn_from_unlabelled_texts(
    store: Store, settings: Settings, deployed: ModelCache
) -> None:
    from textloop.pipeline.training import training_steps

    assert "pool" in [step.name for step in training_steps(1, ("ngram", "embedding"))]
    assert "pool" not in [step.name for step in training_steps(1, ("ngram",))]
    with store.session() as session:
        from textloop.review.pool import pool_digest, unlabelled_texts

        classifier_id = get_classifier(session, "topics").id
        count, digest = pool_digest(session, classifier_id)
        assert count == len(unlabelled_texts(session, classifier_id)) == len(POOL)
    sample_pool(store, deployed, "topics", 5, "margin")
    with store.session() as session:
        assert pool_digest(session, classifier_id) == (count, digest)  # sampled texts stay
        add_to_pool(session, "topics", ["one more text"])
        assert pool_digest(session, classifier_id)[1] != digest


def test_repeats_texts_already_pooled_and_labelled_texts_are_counted_apart(
    store: Store, deployed: ModelCache, corpus_csv: Path
) -> None:
    labelled = read_labelled_file(corpus_csv).column("text").to_pylist()[:3]
    with store.session() as session:
        added = add_to_pool(session, "topics", ["fresh", "fresh", POOL[0], *labelled])
    assert (added.added, added.repeated, added.pooled, added.labelled) == (1, 1, 1, 3)
    assert added.duplicates == 2


def test_a_pooled_text_labelled_later_is_never_offered(
    store: Store, settings: Settings, deployed: ModelCache
) -> None:
    import pyarrow as pa

    later = pa.table({"text": POOL[:50], "label": ["sport"] * 50})
    ingest_batch(store, settings, "topics", later, "labelled later")
    offered = {t.text for t in sample_pool(store, deployed, "topics", 60, "random")}
    assert offered == set(POOL[50:])
    with store.session() as session:  # the labelled ones left the pool without being offered
        assert pool_module.pool_size(session, get_classifier(session, "topics").id) == 0
