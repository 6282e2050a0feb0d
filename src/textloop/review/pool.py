"""The unlabelled pool: texts added in bulk, and the most useful of them turned into tasks.

Sampling streams the pool's unsampled texts through the production model in chunks, keeping a
shortlist of at most ``keep_factor * n`` texts by the strategy's usefulness (a heap), so memory
stays bounded however large the pool. The strategy picks the batch from the shortlist; each pick
becomes a ``pool`` review task with the model's top scores, and leaves the pool.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from textloop.data.splits import normalize_text, text_hash
from textloop.errors import InvalidRequest
from textloop.registry.models import PRODUCTION
from textloop.review.strategies import strategies
from textloop.serving.inference import production_model
from textloop.serving.model_cache import ModelCache
from textloop.store.queries import aliased_model, get_classifier
from textloop.store.tables import PoolText, ReviewTask, utcnow

CHUNK = 1000
MAX_SAMPLE = 10_000
MAX_UNLABELLED = 50_000  # pool texts a training run learns from; enough, and bounded
TOP_SCORES = 5  # class scores a task keeps and the portal shows


@dataclass(frozen=True)
class PoolAdded:
    added: int
    duplicates: int
    empty: int
    size: int  # unsampled texts in the pool now


def add_to_pool(session: Session, name: str, texts: Iterable[str | None]) -> PoolAdded:
    classifier = get_classifier(session, name)
    known = set(
        session.scalars(select(PoolText.text_hash).where(PoolText.classifier_id == classifier.id))
    )
    rows, duplicates, empty = [], 0, 0
    for raw in texts:
        text = normalize_text(raw or "")
        if not text:
            empty += 1
            continue
        hashed = text_hash(text)
        if hashed in known:
            duplicates += 1
            continue
        known.add(hashed)
        rows.append(PoolText(classifier_id=classifier.id, text=text, text_hash=hashed))
    session.add_all(rows)
    session.flush()
    return PoolAdded(len(rows), duplicates, empty, pool_size(session, classifier.id))


def pool_size(session: Session, classifier_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(PoolText)
            .where(PoolText.classifier_id == classifier_id, PoolText.sampled_at.is_(None))
        )
        or 0
    )


def unlabelled_texts(session: Session, classifier_id: int) -> list[str]:
    """Up to ``MAX_UNLABELLED`` pool texts for training, sampled or not (a sampled text may never
    be decided); ordering by hash makes the cut a fixed pseudo-random subset."""
    return list(
        session.scalars(
            select(PoolText.text)
            .where(PoolText.classifier_id == classifier_id)
            .order_by(PoolText.text_hash)
            .limit(MAX_UNLABELLED)
        )
    )


def pool_digest(session: Session, classifier_id: int) -> tuple[int, str]:
    """How many texts ``unlabelled_texts`` returns and a content hash of them, without the texts."""
    digest = hashlib.sha256()
    hashes = session.scalars(
        select(PoolText.text_hash)
        .where(PoolText.classifier_id == classifier_id)
        .order_by(PoolText.text_hash)
        .limit(MAX_UNLABELLED)
    )
    count = 0
    for hashed in hashes:
        digest.update(hashed.encode())
        count += 1
    return count, digest.hexdigest()


def sample_pool(
    session: Session,
    cache: ModelCache,
    name: str,
    n: int,
    strategy_name: str,
    seed: int = 0,
) -> list[ReviewTask]:
    """Turn the ``n`` most useful unsampled texts into review tasks (fewer if the pool is short).

    A classifier without a deployed model can still draw its first labels at random.
    """
    if not 1 <= n <= MAX_SAMPLE:
        raise InvalidRequest(f"n must be between 1 and {MAX_SAMPLE}, not {n}", field="n")
    strategy = strategies.get(strategy_name)(seed)
    classifier = get_classifier(session, name)
    model, classes = None, []
    if aliased_model(session, classifier, PRODUCTION) is not None or strategy.needs_model:
        version = production_model(session, classifier)
        model = cache.get(version.id, version.artifact_uri)
        classes = list(model.classes_)
    keep = n * strategy.keep_factor
    shortlist: list[tuple[float, int, str, np.ndarray | None]] = []  # a min-heap of the best
    for chunk in _chunks(session, classifier.id):
        texts = [row.text for row in chunk]
        probabilities = (
            np.asarray(model.predict_proba(texts)) if model else np.zeros((len(texts), 0))
        )
        for row, useful, scores in zip(
            chunk, strategy.usefulness(probabilities), probabilities, strict=True
        ):
            entry = (float(useful), -row.id, row.text, scores if model else None)
            if len(shortlist) < keep:  # ties: the older text wins
                heapq.heappush(shortlist, entry)
            elif entry[:2] > shortlist[0][:2]:
                heapq.heapreplace(shortlist, entry)
    if not shortlist:
        return []
    shortlist.sort(key=lambda entry: entry[:2], reverse=True)
    usefulness = np.array([entry[0] for entry in shortlist])
    texts = [entry[2] for entry in shortlist]
    picked = strategy.select(texts, usefulness, n, cache.resources)
    return _as_tasks(session, classifier.id, [shortlist[i] for i in picked], classes)


def _chunks(session: Session, classifier_id: int) -> Iterable[Sequence[PoolText]]:
    """Unsampled pool rows in id order, ``CHUNK`` at a time (keyset pagination)."""
    after = 0
    while True:
        chunk = session.scalars(
            select(PoolText)
            .where(
                PoolText.classifier_id == classifier_id,
                PoolText.sampled_at.is_(None),
                PoolText.id > after,
            )
            .order_by(PoolText.id)
            .limit(CHUNK)
        ).all()
        if not chunk:
            return
        yield chunk
        after = chunk[-1].id  # the session's identity map holds rows weakly: memory stays flat


def _as_tasks(
    session: Session,
    classifier_id: int,
    picked: list[tuple[float, int, str, Any]],
    classes: list[str],
) -> list[ReviewTask]:
    now = utcnow()
    tasks = []
    for _, negative_id, text, scores in picked:
        top: dict[str, float] | None = None
        best = None
        if scores is not None:
            order = np.argsort(-scores)[:TOP_SCORES]
            top = {classes[i]: float(scores[i]) for i in order}
            best = classes[int(order[0])]
        task = ReviewTask(
            classifier_id=classifier_id,
            source="pool",
            text=text,
            suggested_label=best,
            confidence=top[best] if top and best else None,
            scores=top,
        )
        session.add(task)
        pool_row = session.get(PoolText, -negative_id)
        assert pool_row is not None
        pool_row.sampled_at = now
        tasks.append(task)
    session.flush()
    return tasks
