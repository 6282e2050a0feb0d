"""The unlabelled pool: texts added in bulk, and the most useful of them turned into tasks.

Sampling streams the pool's unsampled texts through the production model in chunks, keeping a
shortlist of at most ``keep_factor * n`` texts by the strategy's usefulness (a heap), so memory
stays bounded however large the pool. The strategy picks the batch from the shortlist; each pick
becomes a ``pool`` review task with the model's top scores, and leaves the pool.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from textloop.data.splits import normalize_text, text_hash
from textloop.errors import InvalidRequest
from textloop.review.strategies import strategies
from textloop.serving.inference import production_model
from textloop.serving.model_cache import ModelCache
from textloop.store.queries import get_classifier
from textloop.store.tables import PoolText, ReviewTask, utcnow

CHUNK = 1000
MAX_SAMPLE = 10_000
TOP_SCORES = 5


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


def sample_pool(
    session: Session,
    cache: ModelCache,
    name: str,
    n: int,
    strategy_name: str,
    seed: int = 0,
) -> list[ReviewTask]:
    """Turn the ``n`` most useful unsampled texts into review tasks (fewer if the pool is short)."""
    if not 1 <= n <= MAX_SAMPLE:
        raise InvalidRequest(f"n must be between 1 and {MAX_SAMPLE}, not {n}", field="n")
    strategy = strategies.get(strategy_name)(seed)
    classifier = get_classifier(session, name)
    version = production_model(session, classifier)
    model = cache.get(version.id, version.artifact_uri)
    classes = list(model.classes_)
    keep = n * strategy.keep_factor
    shortlist: list[tuple[float, int, str, np.ndarray]] = []  # a min-heap of the best so far
    for chunk in _chunks(session, classifier.id):
        probabilities = np.asarray(model.predict_proba([row.text for row in chunk]))
        for row, useful, scores in zip(
            chunk, strategy.usefulness(probabilities), probabilities, strict=True
        ):
            entry = (float(useful), -row.id, row.text, scores)  # ties: the older text wins
            if len(shortlist) < keep:
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
        order = np.argsort(-scores)[:TOP_SCORES]
        top = {classes[i]: float(scores[i]) for i in order}
        best = classes[int(order[0])]
        task = ReviewTask(
            classifier_id=classifier_id,
            source="pool",
            text=text,
            suggested_label=best,
            confidence=top[best],
            scores=top,
        )
        session.add(task)
        pool_row = session.get(PoolText, -negative_id)
        assert pool_row is not None
        pool_row.sampled_at = now
        tasks.append(task)
    session.flush()
    return tasks
