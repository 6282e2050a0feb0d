"""Active learning on a multi-label classifier: each label is a yes/no decision at its own
threshold, and the pool texts whose decisions are least sure go to review as tasks suggesting
the model's set, as the tasks of a doubtful answer do."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.corpus import TOPICS
from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.errors import InvalidRequest
from textloop.models.base import ModelResources
from textloop.predict.deployment import production_model
from textloop.predict.model_cache import ModelCache
from textloop.predict.outcome import scored
from textloop.review.pool import add_to_pool, sample_pool
from textloop.review.strategies import Strategy, strategies, usefulness_of
from textloop.security.api_keys import create_api_key
from textloop.serving.app import create_app
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.stored_labels import encode
from textloop.store.tables import PoolText, ReviewTask

RNG = np.random.default_rng(5)
WORDS = [word for words in TOPICS.values() for word in words] + ["weekend", "neighbour"]
POOL = [" and the ".join(RNG.choice(WORDS, size=2, replace=False)) + f" #{i}" for i in range(40)]

THRESHOLDS = np.array([0.3, 0.5, 0.7])
PROBABILITIES = np.array(
    [
        [0.02, 0.97, 0.98],  # sure: every label far from its threshold
        [0.32, 0.97, 0.98],  # near: the first label just above its threshold, 0.3
        [0.02, 0.97, 0.50],  # middle: the last label at 0.5, well below its threshold, 0.7
    ]
)


def ranked(strategy: str) -> list[str]:
    useful = usefulness_of(strategies.get(strategy)(), PROBABILITIES, THRESHOLDS)
    return [["sure", "near", "middle"][i] for i in np.argsort(-useful, kind="stable")]


def test_each_strategy_reads_a_label_set_as_one_decision_per_label_at_its_threshold() -> None:
    # the text whose decision on one label is nearest that label's threshold comes first
    assert ranked("margin") == ranked("breaking-ties") == ["near", "middle", "sure"]
    assert ranked("diverse") == ranked("margin")  # its shortlist is margin's
    # 1 - the probability that the whole answered set is right: 1 - 0.32 * 0.97 * 0.98 first
    assert ranked("least-confidence") == ["near", "middle", "sure"]
    # the sum of the labels' binary entropies knows no threshold: a probability of 0.5 is the
    # most doubtful whatever the label's threshold
    assert ranked("entropy") == ["middle", "near", "sure"]
    assert len(usefulness_of(strategies.get("random")(), PROBABILITIES, THRESHOLDS)) == 3


def test_the_pool_sends_the_least_sure_texts_to_review_as_sets_over_http(
    both_modes: Store, settings: Settings
) -> None:
    with both_modes.session() as session:
        add_to_pool(session, "tags", POOL)
        key = create_api_key(session, ["admin"]).key
        version = production_model(session, get_classifier(session, "tags"))
    with TestClient(create_app(settings)) as client:
        answer = client.post(
            "/v1/classifiers/tags/pool/samples",
            json={"n": 5, "strategy": "margin"},
            headers={"x-api-key": key},
        )
    assert answer.status_code == 201, answer.text
    shown = answer.json()["tasks"]

    model = ModelCache(artifacts_for(settings), ModelResources()).get(
        version.id, version.artifact_uri
    )
    probabilities = model.predict_proba(POOL)
    useful = usefulness_of(strategies.get("margin")(), probabilities, model.thresholds_)
    expected = {POOL[i]: i for i in np.argsort(-useful, kind="stable")[:5]}
    answers = scored(model, probabilities)  # what the model answers each text, as served
    assert [task["text"] for task in shown] == list(expected)
    for task in shown:
        answered = answers[expected[task["text"]]]
        assert task["suggested_labels"] == list(answered.labels or ())
        assert task["suggested_label"] is None  # a set is never shown in its stored form
        assert task["confidence"] == pytest.approx(answered.confidence)
    with both_modes.session() as session:
        stored = {t.text: t for t in session.scalars(select(ReviewTask))}
    for text, index in expected.items():
        assert stored[text].source == "pool"
        assert stored[text].suggested_label == encode(answers[index].labels or ())
        assert stored[text].scores == pytest.approx(answers[index].scores)  # every label's


class SingleLabelOnly(Strategy):
    """A strategy of one's own that knows nothing of label sets."""

    def usefulness(self, probabilities: np.ndarray) -> np.ndarray:
        return probabilities.max(axis=1)


def test_a_strategy_that_cannot_rank_label_sets_is_refused_before_the_pool_is_scored(
    both_modes: Store, settings: Settings
) -> None:
    with both_modes.session() as session:
        add_to_pool(session, "tags", POOL)
        add_to_pool(session, "topics", POOL)
    cache = ModelCache(artifacts_for(settings), ModelResources())
    strategies.register("single-only")(SingleLabelOnly)
    try:
        with pytest.raises(InvalidRequest) as refused:
            sample_pool(both_modes, cache, "tags", 3, "single-only")
        assert len(sample_pool(both_modes, cache, "topics", 3, "single-only")) == 3
    finally:
        strategies.unregister("single-only")
    assert str(refused.value).startswith(
        "the single-only strategy cannot rank label sets, which multi-label classifier 'tags' "
        "answers; choose one that can: breaking-ties, diverse, entropy, least-confidence, "
        "margin, random"
    )
    assert refused.value.field == "strategy"
    with both_modes.session() as session:
        tags = get_classifier(session, "tags").id
        unsampled = select(func.count()).where(
            PoolText.classifier_id == tags, PoolText.sampled_at.is_(None)
        )
        assert session.scalar(unsampled) == len(POOL)
        assert session.scalar(select(func.count()).where(ReviewTask.classifier_id == tags)) == 0
