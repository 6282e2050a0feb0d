"""The unlabelled pool: texts added in bulk, and the most useful of them turned into tasks.

Sampling streams the pool's unsampled texts through the production model in chunks, keeping a
shortlist of at most ``keep_factor * n`` texts by the strategy's usefulness (a heap), so memory
stays bounded however large the pool. The strategy picks the batch from the shortlist; each pick
becomes a ``pool`` review task with the model's answer as its suggestion, and leaves the pool.
The model never runs inside a database transaction, and a text that is already labelled never
enters the pool nor leaves it as a task.

A multi-label classifier's pool is ranked on the per-label decisions (``set_usefulness``, each
label at its own threshold), and its tasks are those serving opens for a doubtful set: the
model's set in its stored form, the probability that the whole set is right, and every label's
score (the portal shows each label as a checkbox with its score). A single-label task keeps the
``TOP_SCORES`` best labels.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from textloop.data.label_sets import Mode
from textloop.data.splits import normalize_text, text_hash
from textloop.errors import InvalidRequest
from textloop.predict.deployment import production_model
from textloop.predict.model_cache import ModelCache
from textloop.predict.outcome import Scored, scored, top_scores
from textloop.predict.predictor import DIRECT, Predictor
from textloop.registry.aliases import PRODUCTION
from textloop.review.strategies import ranks_label_sets, strategies, usefulness_of
from textloop.store.database import Store
from textloop.store.queries import aliased_model, get_classifier
from textloop.store.tables import DatasetVersion, Example, PoolText, ReviewTask, TaskSource, utcnow

CHUNK = 1000
MAX_SAMPLE = 10_000
MAX_UNLABELLED = 50_000  # pool texts a training run learns from; enough, and bounded
TOP_SCORES = 5  # class scores a single-label task keeps and the portal shows


@dataclass(frozen=True)
class PoolAdded:
    added: int
    duplicates: int  # not stored because the text is there already: ``repeated`` + ``pooled``
    empty: int
    size: int  # unsampled texts in the pool now
    repeated: int = 0  # texts that came earlier in the same input
    pooled: int = 0  # texts that were in the pool before this input
    labelled: int = 0  # texts already labelled in a dataset version: never pooled


def add_to_pool(session: Session, name: str, texts: Iterable[str | None]) -> PoolAdded:
    """Store each new text once; repeats, texts already pooled and labelled ones are counted."""
    classifier = get_classifier(session, name)
    pooled_before = set(
        session.scalars(select(PoolText.text_hash).where(PoolText.classifier_id == classifier.id))
    )
    labelled_before = labelled_hashes(session, classifier.id)
    seen: set[str] = set()
    rows, repeated, pooled, labelled, empty = [], 0, 0, 0, 0
    for raw in texts:
        text = normalize_text(raw or "")
        if not text:
            empty += 1
            continue
        hashed = text_hash(text)
        if hashed in seen:
            repeated += 1
            continue
        seen.add(hashed)
        if hashed in pooled_before:
            pooled += 1
        elif hashed in labelled_before:
            labelled += 1
        else:
            rows.append(PoolText(classifier_id=classifier.id, text=text, text_hash=hashed))
    session.add_all(rows)
    session.flush()
    return PoolAdded(
        added=len(rows),
        duplicates=repeated + pooled,
        empty=empty,
        size=pool_size(session, classifier.id),
        repeated=repeated,
        pooled=pooled,
        labelled=labelled,
    )


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
    store: Store,
    cache: ModelCache,
    name: str,
    n: int,
    strategy_name: str,
    seed: int = 0,
    predictor: Predictor = DIRECT,
) -> list[ReviewTask]:
    """Turn the ``n`` most useful unsampled texts into review tasks (fewer if the pool is short).

    No transaction is open while the model runs: the pool is read in short transactions of
    ``CHUNK`` rows, scored between them, and the picks are written in one short transaction at
    the end (on SQLite every transaction holds the write lock, and serving must not wait for a
    pool of any size). A text another sampler took meanwhile is left out. A text that is already
    labelled (in any dataset version of the classifier) is never offered: a reviewer's answer on
    it would relabel a row, perhaps a test row. A classifier without a deployed model can still
    draw its first labels at random.
    """
    if not 1 <= n <= MAX_SAMPLE:
        raise InvalidRequest(f"n must be between 1 and {MAX_SAMPLE}, not {n}", field="n")
    kind = strategies.get(strategy_name)
    with store.session() as session:
        classifier = get_classifier(session, name)
        if classifier.mode == Mode.MULTI_LABEL and not ranks_label_sets(kind):
            raise InvalidRequest(
                f"the {strategy_name} strategy cannot rank label sets, which multi-label "
                f"classifier {name!r} answers; choose one that can: {_set_strategies()}",
                field="strategy",
            )
        classifier_id, mode = classifier.id, classifier.mode
        version = None
        if aliased_model(session, classifier, PRODUCTION) is not None or kind.needs_model:
            version = production_model(session, classifier)
        labelled = labelled_hashes(session, classifier_id)
    strategy = kind(seed)
    model = cache.get(version.id, version.artifact_uri) if version is not None else None
    thresholds = None  # a single-label model's rows: one distribution over the labels
    if mode == Mode.MULTI_LABEL:  # each label decided at its own threshold (none: no model)
        thresholds = model.thresholds_ if model is not None else np.zeros(0)
    keep = n * strategy.keep_factor
    shortlist: list[tuple[float, int, str, np.ndarray | None]] = []  # a min-heap of the best
    retired: list[int] = []  # pooled texts labelled since: they leave the pool unoffered
    for rows in _chunks(store, classifier_id):
        retired += [row_id for row_id, _, hashed in rows if hashed in labelled]
        chunk = [(row_id, text) for row_id, text, hashed in rows if hashed not in labelled]
        if not chunk:
            continue
        texts = [text for _, text in chunk]
        probabilities = predictor.predict(model, texts) if model else np.zeros((len(texts), 0))
        for (row_id, text), useful, scores in zip(
            chunk, usefulness_of(strategy, probabilities, thresholds), probabilities, strict=True
        ):
            entry = (float(useful), -row_id, text, scores if model else None)
            if len(shortlist) < keep:  # ties: the older text wins
                heapq.heappush(shortlist, entry)
            elif entry[:2] > shortlist[0][:2]:
                heapq.heapreplace(shortlist, entry)
    picked: list[int] = []
    if shortlist:
        shortlist.sort(key=lambda entry: entry[:2], reverse=True)
        usefulness = np.array([entry[0] for entry in shortlist])
        texts = [entry[2] for entry in shortlist]
        picked = strategy.select(texts, usefulness, n, cache.resources)
    chosen = [shortlist[i] for i in picked]
    answers = _answers(model, [entry[3] for entry in chosen])
    with store.session() as session:
        for start in range(0, len(retired), CHUNK):
            session.execute(
                update(PoolText)
                .where(PoolText.id.in_(retired[start : start + CHUNK]))
                .values(sampled_at=utcnow())
            )
        return _as_tasks(session, classifier_id, chosen, answers)


def labelled_hashes(session: Session, classifier_id: int) -> set[str]:
    """The text hashes of every labelled example of the classifier, in any dataset version."""
    return set(
        session.scalars(
            select(Example.text_hash)
            .join(DatasetVersion, DatasetVersion.id == Example.dataset_version_id)
            .where(DatasetVersion.classifier_id == classifier_id)
            .distinct()
        )
    )


def _chunks(store: Store, classifier_id: int) -> Iterator[list[tuple[int, str, str]]]:
    """Unsampled pool rows (id, text, hash) in id order, ``CHUNK`` at a time, each chunk read
    in a transaction of its own that ends before the caller scores it (keyset pagination)."""
    after = 0
    while True:
        with store.session() as session:
            chunk = [
                (row_id, text, hashed)
                for row_id, text, hashed in session.execute(
                    select(PoolText.id, PoolText.text, PoolText.text_hash)
                    .where(
                        PoolText.classifier_id == classifier_id,
                        PoolText.sampled_at.is_(None),
                        PoolText.id > after,
                    )
                    .order_by(PoolText.id)
                    .limit(CHUNK)
                )
            ]
        if not chunk:
            return
        yield chunk
        after = chunk[-1][0]


def _set_strategies() -> str:
    return ", ".join(n for n in strategies.names() if ranks_label_sets(strategies.get(n)))


def _answers(model: Any, rows: list[Any]) -> list[Scored | None]:
    """What the model answers for each pick's probabilities, as it answers a request
    (``predict.outcome``); None for every pick when there is no model."""
    if model is None or not rows:
        return [None] * len(rows)
    return list(scored(model, np.vstack(rows)))


def _as_tasks(
    session: Session,
    classifier_id: int,
    picked: list[tuple[float, int, str, Any]],
    answers: list[Scored | None],
) -> list[ReviewTask]:
    """One task per pick whose pool row is still unsampled (claimed here, one UPDATE each)."""
    now = utcnow()
    tasks = []
    for (_, negative_id, text, _), answer in zip(picked, answers, strict=True):
        claimed = session.execute(
            update(PoolText)
            .where(PoolText.id == -negative_id, PoolText.sampled_at.is_(None))
            .values(sampled_at=now)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            continue  # another sampler took it while this one was scoring
        task = ReviewTask(
            classifier_id=classifier_id,
            source=TaskSource.POOL,
            text=text,
            suggested_label=answer.label if answer else None,
            confidence=answer.confidence if answer else None,
            scores=_shown(answer) if answer else None,
        )
        session.add(task)
        tasks.append(task)
    session.flush()
    return tasks


def _shown(answer: Scored) -> dict[str, float]:
    """The scores a task keeps: every label's for a set (each is a decision), else the best."""
    return top_scores(answer.scores, None if answer.labels is not None else TOP_SCORES)
