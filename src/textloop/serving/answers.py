"""How a prediction reads in an API answer: scores rounded, and only the top ``k`` when asked.

The stored prediction keeps every score at full precision; only the answer is trimmed.
"""

from __future__ import annotations

from typing import Any

from textloop.predict.outcome import top_scores
from textloop.predict.records import PredictionResult

SCORE_DECIMALS = 4


def public_prediction(result: PredictionResult, top_k: int | None = None) -> dict[str, Any]:
    """``result`` as JSON-ready fields; ``top_k`` keeps the highest scores, highest first."""
    scores = result.scores if top_k is None else top_scores(result.scores, top_k)
    return {
        "label": result.label,
        "confidence": round(result.confidence, SCORE_DECIMALS),
        "scores": {label: round(score, SCORE_DECIMALS) for label, score in scores.items()},
        "model_version": result.model_version,
        "prediction_id": result.prediction_id,
        "review": result.review,
    }
