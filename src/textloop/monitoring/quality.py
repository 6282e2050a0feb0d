"""Model quality over time: per version, its test accuracy, the share of its predictions sent to
review, and how often reviewers agreed with it.

Review share and agreement come from live traffic, so they show what test accuracy cannot: a
version that tests well but hesitates on (or gets wrong) what users actually send.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from textloop.store.queries import settled_label
from textloop.store.tables import MODEL_DOUBTS, ModelVersion, Prediction, ReviewStatus, ReviewTask


@dataclass(frozen=True)
class VersionQuality:
    version: int
    test_accuracy: float | None
    predictions: int
    review_share: float | None  # predictions that opened a review task
    reviewed: int  # of those, decided by reviewers
    agreement: float | None  # reviewed predictions whose label the reviewers confirmed


def version_quality(session: Session, classifier_id: int) -> list[VersionQuality]:
    versions = session.scalars(
        select(ModelVersion)
        .where(ModelVersion.classifier_id == classifier_id)
        .order_by(ModelVersion.version)
    ).all()
    made = dict(
        session.execute(
            select(Prediction.model_version_id, func.count())
            .where(Prediction.classifier_id == classifier_id)
            .group_by(Prediction.model_version_id)
        ).all()
    )
    done = ReviewTask.status == ReviewStatus.DONE
    reviews = {
        model_id: (sent, reviewed, agreed)
        for model_id, sent, reviewed, agreed in session.execute(
            select(
                Prediction.model_version_id,
                func.count(),
                func.sum(case((done, 1), else_=0)),  # flagged labels are in doubt: not counted
                func.sum(case((and_(done, settled_label() == Prediction.label), 1), else_=0)),
            )
            .join(Prediction, Prediction.id == ReviewTask.prediction_id)
            .where(
                ReviewTask.classifier_id == classifier_id,
                ReviewTask.source.in_(MODEL_DOUBTS),
            )
            .group_by(Prediction.model_version_id)
        )
    }
    rows = []
    for version in versions:
        predictions = made.get(version.id, 0)
        sent, reviewed, agreed = reviews.get(version.id, (0, 0, 0))
        reviewed = reviewed or 0
        rows.append(
            VersionQuality(
                version=version.version,
                test_accuracy=(version.metrics.get("test") or {}).get("accuracy"),
                predictions=predictions,
                review_share=sent / predictions if predictions else None,
                reviewed=reviewed,
                agreement=(agreed or 0) / reviewed if reviewed else None,
            )
        )
    return rows
