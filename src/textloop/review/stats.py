"""How reviewers are doing: how many decisions, how fast, and how far they agree.

Speed is the median time between a reviewer's consecutive decisions, leaving out pauses longer
than ``PAUSE``. Agreement is Cohen's kappa between two reviewers over the tasks both labelled
(chance-corrected, 1 is perfect), averaged over each reviewer's partners; on a multi-label
classifier's tasks, whose decisions are label sets, it is Krippendorff's alpha with the MASI set
distance instead (``set_agreement``: a set that shares most labels agrees in part). Agreement
with the model is the share of decisions that kept the suggested label (or set).
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from itertools import combinations, pairwise

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.review.assignments import SKIPPED
from textloop.review.set_agreement import krippendorff_alpha
from textloop.store.stored_labels import Mode, decode
from textloop.store.tables import Classifier, ReviewDecision, ReviewTask, User

PAUSE = timedelta(minutes=10)
NONE_KEY = "\x00none"  # "none of these" as a category of its own: no label has a NUL in it


@dataclass(frozen=True)
class ReviewerStats:
    email: str
    decisions: int
    skips: int
    median_seconds: float | None
    agrees_with_model: float | None
    kappa: float | None  # mean Cohen's kappa with the reviewers they share tasks with
    shared_tasks: int


def reviewer_stats(session: Session) -> list[ReviewerStats]:
    rows = session.execute(
        select(
            User.email,
            ReviewDecision.task_id,
            ReviewDecision.label,
            ReviewDecision.created_at,
            ReviewTask.suggested_label,
            Classifier.mode,
        )
        .join(User, User.id == ReviewDecision.user_id)
        .join(ReviewTask, ReviewTask.id == ReviewDecision.task_id)
        .join(Classifier, Classifier.id == ReviewTask.classifier_id)
        .order_by(ReviewDecision.created_at, ReviewDecision.id)
    ).all()
    sets = {task_id for _, task_id, _, _, _, mode in rows if mode == Mode.MULTI_LABEL}
    times: dict[str, list] = defaultdict(list)
    labels: dict[str, dict[str, str]] = defaultdict(dict)
    skips: dict[str, int] = defaultdict(int)
    kept: dict[str, list[bool]] = defaultdict(list)
    for email, task_id, label, created_at, suggested, _ in rows:
        times[email].append(created_at)
        if label == SKIPPED:
            skips[email] += 1
            continue
        labels[email][task_id] = NONE_KEY if label is None else label
        if suggested is not None:  # a set's "none of these" keeps an empty suggestion ("")
            kept[email].append((label or "" if task_id in sets else label) == suggested)
    kappas: dict[str, list[float]] = defaultdict(list)
    shared_count: dict[str, int] = defaultdict(int)
    for first, second in combinations(sorted(labels), 2):
        shared = sorted(set(labels[first]) & set(labels[second]))
        if not shared:
            continue
        for kind in ([t for t in shared if t not in sets], [t for t in shared if t in sets]):
            if not kind:
                continue
            a = [labels[first][t] for t in kind]
            b = [labels[second][t] for t in kind]
            agreement = 1.0 if a == b else _agreement(a, b, kind[0] in sets)
            for email in (first, second):
                kappas[email].append(agreement)
                shared_count[email] += len(kind)
    return [
        ReviewerStats(
            email=email,
            decisions=len(labels[email]),
            skips=skips[email],
            median_seconds=_median_gap(times[email]),
            agrees_with_model=sum(kept[email]) / len(kept[email]) if kept[email] else None,
            kappa=statistics.fmean(kappas[email]) if kappas[email] else None,
            shared_tasks=shared_count[email],
        )
        for email in sorted(times)
    ]


def _median_gap(moments: list) -> float | None:
    gaps = [
        (later - earlier).total_seconds()
        for earlier, later in pairwise(moments)
        if later - earlier <= PAUSE
    ]
    return statistics.median(gaps) if gaps else None


def _agreement(first: list[str], second: list[str], label_sets: bool) -> float:
    """Cohen's kappa, or for label sets Krippendorff's alpha (MASI); 0 where undefined."""
    if not label_sets:
        return _kappa(first, second)

    def as_set(label: str) -> tuple[str, ...]:
        return () if label == NONE_KEY else decode(label)  # "none of these": the empty set

    units = [[as_set(a), as_set(b)] for a, b in zip(first, second, strict=True)]
    alpha = krippendorff_alpha(units)
    return 0.0 if alpha is None else alpha


def _kappa(first: list[str], second: list[str]) -> float:
    """Cohen's kappa; 0 where chance agreement is total and kappa is undefined."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        from sklearn.metrics import cohen_kappa_score  # not at import: the server starts faster

        value = float(cohen_kappa_score(first, second))
    return value if math.isfinite(value) else 0.0
