"""How well a classifier tells texts that fit none of its labels from those that fit one.

Measured on two sets of texts: in-scope test texts with their labels, and out-of-scope texts (of
no known label). An in-scope text is answered right only when it is kept in scope *and* given its
label, so a detector that rejects good answers pays for them in in-scope accuracy; out-of-scope
recall is the share of out-of-scope texts caught, precision the share of caught texts that were
out of scope, and AUROC how well the in-scope score ranks the two sets apart, whatever the
threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def scope_metrics(
    right: Sequence[bool] | np.ndarray,
    caught_in_scope: Sequence[bool] | np.ndarray,
    caught_out_of_scope: Sequence[bool] | np.ndarray | None = None,
    scores_in_scope: Sequence[float] | np.ndarray | None = None,
    scores_out_of_scope: Sequence[float] | np.ndarray | None = None,
) -> dict[str, float]:
    """``right``: whether each in-scope text got its label; ``caught_*``: whether each text was
    answered out of scope; ``scores_*``: the in-scope scores (higher: more in scope), for AUROC.
    Without out-of-scope texts, only what the in-scope ones say."""
    right_ = np.asarray(right, dtype=bool)
    kept_wrongly = np.asarray(caught_in_scope, dtype=bool)
    metrics = {
        "in_scope_accuracy": float((right_ & ~kept_wrongly).mean()) if len(right_) else 0.0,
        "in_scope_kept": float((~kept_wrongly).mean()) if len(right_) else 0.0,
    }
    if caught_out_of_scope is None:
        return metrics
    caught = np.asarray(caught_out_of_scope, dtype=bool)
    flagged = int(kept_wrongly.sum() + caught.sum())
    metrics["out_of_scope_recall"] = float(caught.mean()) if len(caught) else 0.0
    metrics["out_of_scope_precision"] = float(caught.sum() / flagged) if flagged else 0.0
    if scores_in_scope is not None and scores_out_of_scope is not None:
        metrics["auroc"] = auroc(scores_in_scope, scores_out_of_scope)
    return metrics


def auroc(scores_in_scope: Any, scores_out_of_scope: Any) -> float:
    """The chance that an out-of-scope text scores below an in-scope one (ties count half)."""
    from sklearn.metrics import roc_auc_score

    inside, outside = np.asarray(scores_in_scope), np.asarray(scores_out_of_scope)
    if not len(inside) or not len(outside):
        return float("nan")
    truth = np.concatenate([np.zeros(len(inside)), np.ones(len(outside))])
    return float(roc_auc_score(truth, -np.concatenate([inside, outside])))
