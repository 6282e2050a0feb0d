"""What answering some texts stores: predictions, the review tasks of unsure ones, and what the
caller is told. Decided once here for the HTTP API and the CLI alike: a prediction whose
confidence is below the classifier's threshold becomes an ``implicit`` review task stored with it
(an answer out of scope, an ``out_of_scope`` task, whatever its confidence), unless a release on
``staging`` answered it (it is being tried, and its doubts are not the
production model's). Every prediction records the alias and the version that answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from textloop.models.out_of_scope import found_unlike
from textloop.predict.deployment import Deployment
from textloop.predict.outcome import Scored, needs_review
from textloop.registry.aliases import STAGING
from textloop.store.tables import ReviewStatus, TaskSource, new_id, utcnow


@dataclass(frozen=True)
class PredictionResult:
    label: str
    confidence: float
    scores: dict[str, float]
    model_version: int
    prediction_id: str
    review: bool
    labels: tuple[str, ...] | None = None  # a multi-label model's answer (``Scored.labels``)
    out_of_scope: bool | None = None  # fits none of the labels (no ``label``); None: not asked


@dataclass(frozen=True)
class Records:
    predictions: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    results: list[PredictionResult]


def records(deployment: Deployment, texts: Sequence[str], scored: Sequence[Scored]) -> Records:
    now = utcnow()
    out = Records([], [], [])
    for text, item in zip(texts, scored, strict=True):
        prediction_id = new_id()
        unlike = found_unlike(bool(item.out_of_scope), item.label, deployment.out_of_scope_label)
        doubted = unlike or needs_review(item.confidence, deployment.threshold)
        review = deployment.alias != STAGING and doubted
        out.predictions.append(
            {
                "id": prediction_id,
                "classifier_id": deployment.classifier_id,
                "model_version_id": deployment.version_id,
                "alias": deployment.alias,
                "text": text,
                "label": item.label,
                "confidence": item.confidence,
                "scores": item.scores,
                "out_of_scope": bool(item.out_of_scope),
                "created_at": now,
            }
        )
        if review:
            out.tasks.append(
                implicit_task(deployment.classifier_id, text, item, prediction_id, now, unlike)
            )
        out.results.append(
            PredictionResult(
                label=item.label,
                confidence=item.confidence,
                scores=item.scores,
                model_version=deployment.version,
                prediction_id=prediction_id,
                review=review,
                labels=item.labels,
                out_of_scope=item.out_of_scope,
            )
        )
    return out


def implicit_task(
    classifier_id: int,
    text: str,
    scored: Scored,
    prediction_id: str | None,
    now: datetime | None = None,
    unlike: bool | None = None,
) -> dict[str, Any]:
    """The review task of an answer the model was unsure of, or found unlike what it learned
    from (``unlike``, by default whether it was answered out of scope; a request's, or a batch
    row's)."""
    unlike = bool(scored.out_of_scope) if unlike is None else unlike
    return {
        "id": new_id(),
        "classifier_id": classifier_id,
        "source": TaskSource.OUT_OF_SCOPE if unlike else TaskSource.IMPLICIT,
        "status": ReviewStatus.OPEN,
        "text": text,
        "suggested_label": scored.label,
        "confidence": scored.confidence,
        "prediction_id": prediction_id,
        "created_at": now or utcnow(),
    }
