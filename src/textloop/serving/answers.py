"""How a prediction reads in an API answer: every score at full precision, only the top ``k``
when asked. A multi-label classifier answers ``labels`` (the set, possibly empty) where a
single-label one answers ``label``.

Nothing is rounded: a version's answer over HTTP is the number the CLI, a batch job, the notebook,
an exported bundle and the MLflow model give for the same text, so a client can compare them.
"""

from __future__ import annotations

from typing import Any

from textloop.predict.outcome import top_scores
from textloop.predict.records import PredictionResult


def public_prediction(result: PredictionResult, top_k: int | None = None) -> dict[str, Any]:
    """``result`` as JSON-ready fields; ``top_k`` keeps the highest scores, highest first."""
    scores = result.scores if top_k is None else top_scores(result.scores, top_k)
    answer = {"labels": list(result.labels)} if result.labels is not None else {}
    return {
        **(answer or {"label": result.label}),
        "confidence": result.confidence,
        "scores": scores,
        "model_version": result.model_version,
        "prediction_id": result.prediction_id,
        "review": result.review,
    }
