"""A retrain never moves the yardstick: the test rows of every version are the same texts with
the same labels, however the reviewed labels that flowed in touched them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
from sqlalchemy import select

from tests.corpus import TOPICS, corpus_rows
from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.continuous.retrain import retrain
from textloop.continuous.triggers import configure
from textloop.models.base import ModelResources
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.predict.model_cache import ModelCache
from textloop.review.assignments import claim_next, decide
from textloop.review.pool import add_to_pool, sample_pool
from textloop.security.accounts import create_user
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import DatasetVersion, Example, ModelVersion, ReviewTask

WRONG = {"sport": "finance", "finance": "weather", "weather": "sport"}


def rows_of(store: Store, version: int, split: str) -> Counter[tuple[str, str, str]]:
    """The (text, label, channel) rows of one split of a dataset version, repeats counted."""
    with store.session() as session:
        dataset = session.scalars(
            select(DatasetVersion).where(DatasetVersion.version == version)
        ).one()
        found = session.execute(
            select(Example.text, Example.label, Example.extras).where(
                Example.dataset_version_id == dataset.id, Example.split == split
            )
        )
        return Counter(
            (text, label, (extras or {}).get("channel", "")) for text, label, extras in found
        )


def test_test_rows_stay_identical_across_a_retrain_on_reviewed_labels(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    rows = corpus_rows(per_label=60)
    texts, labels = [t for t, _ in rows], [label for _, label in rows]
    channels = ["web"] * len(rows)
    # every text repeated once more from another channel: duplicate texts, two rows each
    table = pa.table(
        {
            "text": texts * 2,
            "label": labels * 2,
            "extra:channel": channels + ["phone"] * len(rows),
        }
    )
    ingest_batch(store, settings, "topics", table, "corpus")
    train_classifier(store, settings, "topics", "ngram", deploy=True)
    test_before = rows_of(store, 1, "test")
    assert test_before and all(count == 1 for count in test_before.values())
    assert len({text for text, _, _ in test_before}) * 2 == sum(test_before.values())

    test_texts = sorted({(text, label) for text, label, _ in test_before})[:4]
    train_text, train_label = next((text, label) for text, label, _ in rows_of(store, 1, "train"))
    words = TOPICS["weather"]
    new_texts = [f"{words[i]} and {words[i + 1]} all week long {i}" for i in range(5)]
    with store.session() as session:
        reviewer = create_user(session, "ann@example.com", "a long password", "reviewer").id
        configure(session, "topics", retrain_after=1, model="ngram")
        classifier = get_classifier(session, "topics")
        for text, _ in [*test_texts, (train_text, train_label)]:  # tasks on labelled texts
            session.add(ReviewTask(classifier_id=classifier.id, source="pool", text=text))
        add_to_pool(session, "topics", new_texts)
    cache = ModelCache(artifacts_for(settings), ModelResources())
    assert len(sample_pool(store, cache, "topics", 5, "random")) == 5
    answers = {text: WRONG[label] for text, label in test_texts}  # reviewers disagree with test
    answers[train_text] = WRONG[train_label]
    answers.update(dict.fromkeys(new_texts, "weather"))
    while True:
        with store.session() as session:
            task = claim_next(session, "topics", reviewer)
            if task is None:
                break
            decide(session, task.id, reviewer, answers[task.text])

    result = retrain(store, settings, "topics", {"trigger": "labels"})
    merged = result["merged"]
    assert merged["reviewed"] + merged["flagged"] == len(answers)
    assert result["dataset_version"] == 2

    assert rows_of(store, 2, "test") == test_before  # same texts, labels and repeats
    train_after = rows_of(store, 2, "train") + rows_of(store, 2, "validation")
    assert not {text for text, _, _ in train_after} & {text for text, _, _ in test_before}
    with store.session() as session:
        candidate = session.scalars(
            select(ModelVersion).where(ModelVersion.version == result["version"])
        ).one()
        verdict = candidate.blessing
    assert verdict["production_version"] == 1
    assert candidate.metrics["test"]["rows"] == sum(test_before.values())
