"""Shadow mode: a candidate also scores live traffic, without answering, so that its agreement
with production is known before anyone promotes it.

The ``shadow`` alias names the candidate. A blessed candidate that waits for an admin (deploy
mode ``manual``) becomes the shadow by itself; promoting it to production ends its shadowing.
Agreement is measured on real requests; where reviewers have since labelled a request, both
models are also scored against the reviewers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from textloop.registry.aliases import PRODUCTION, SHADOW
from textloop.store.queries import aliased_model, get_classifier, settled_label
from textloop.store.tables import (
    MODEL_DOUBTS,
    Prediction,
    ReviewStatus,
    ReviewTask,
    ShadowPrediction,
)


def shadow_report(session: Session, name: str) -> dict[str, Any]:
    """How the shadow compares with production on the requests both answered."""
    classifier = get_classifier(session, name)
    shadow = aliased_model(session, classifier, SHADOW)
    production = aliased_model(session, classifier, PRODUCTION)
    report: dict[str, Any] = {
        "classifier": name,
        "shadow_version": shadow.version if shadow else None,
        "production_version": production.version if production else None,
        "scored": 0,
        "agreement": None,
        "reviewed": 0,
        "shadow_accuracy_on_reviewed": None,
        "production_accuracy_on_reviewed": None,
    }
    if shadow is None:
        return report
    scored, agreed = session.execute(
        select(func.count(), func.sum(case((ShadowPrediction.agreed, 1), else_=0))).where(
            ShadowPrediction.model_version_id == shadow.id
        )
    ).one()
    reviewed, shadow_right, production_right = session.execute(
        select(
            func.count(),
            func.sum(case((ShadowPrediction.label == settled_label(), 1), else_=0)),
            func.sum(case((Prediction.label == settled_label(), 1), else_=0)),
        )
        .select_from(ShadowPrediction)
        .join(Prediction, Prediction.id == ShadowPrediction.prediction_id)
        .join(ReviewTask, ReviewTask.prediction_id == Prediction.id)
        .where(
            ShadowPrediction.model_version_id == shadow.id,
            ReviewTask.source.in_(MODEL_DOUBTS),  # one per prediction
            ReviewTask.status == ReviewStatus.DONE,
        )
    ).one()
    report.update(
        scored=scored,
        agreement=(agreed or 0) / scored if scored else None,
        reviewed=reviewed,
        shadow_accuracy_on_reviewed=(shadow_right or 0) / reviewed if reviewed else None,
        production_accuracy_on_reviewed=(production_right or 0) / reviewed if reviewed else None,
    )
    return report
