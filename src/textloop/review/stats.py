"""How reviewers are doing: how many decisions, how fast, and how far they agree.

Speed is the median time between a reviewer's consecutive decisions, leaving out pauses longer
than ``PAUSE``. Agreement is Cohen's kappa between two reviewers over the tasks both labelled
(chance-corrected, 1 is perfect), averaged over each reviewer's partners; agreement with the
model is the share of decisions that kept the suggested label.
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
from textloop.store.tables import ReviewDecision, ReviewTask, User

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
        )
        .join(User, User.id == ReviewDecision.user_id)
        .join(ReviewTask, ReviewTask.id == ReviewDecision.task_id)
        .order_by(ReviewDecision.created_at, ReviewDecision.id)
    ).all()
    times: dict[str, list] = defaultdict(list)
    labels: dict[str, dict[str, str]] = defaultdict(dict)
    skips: dict[str, int] = defaultdict(int)
    kept: dict[str, list[bool]] = defaultdict(list)
    for email, task_id, label, created_at, suggested in rows:
        times[email].append(created_at)
        if label == SKIPPED:
            skips[email] += 1
            continue
        labels[email][task_id] = NONE_KEY if label is None else label
        if suggested is not None:
            kept[email].append(label == suggested)
    kappas: dict[str, list[float]] = defaultdict(list)
    shared_count: dict[str, int] = defaultdict(int)
    for first, second in combinations(sorted(labels), 2):
        shared = sorted(set(labels[first]) & set(labels[second]))
        if not shared:
            continue
        a = [labels[first][t] for t in shared]
        b = [labels[second][t] for t in shared]
        kappa = 1.0 if a == b else _kappa(a, b)
        for email in (first, second):
            kappas[email].append(kappa)
            shared_count[email] += len(shared)
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


def _kappa(first: list[str], second: list[str]) -> float:
    """Cohen's kappa; 0 where chance agreement is total and kappa is undefined."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        from sklearn.metrics import cohen_kappa_score  # not at import: the server starts faster

        value = float(cohen_kappa_score(first, second))
    return value if math.isfinite(value) else 0.0
