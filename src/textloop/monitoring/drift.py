"""Drift checks: each time a classifier's production model has answered a window of requests,
compare them with the model's held-out rows, keep the report, and tell people once when it drifts.

The reference is what the model was tested on: up to ``REFERENCE_SIZE`` held-out rows of its
dataset version (test split, else validation), scored by the model and embedded once per model
version, plus the vocabulary of its training rows. The window is the newest ``drift_window``
predictions of that model; a check runs as a ``drift`` job when that many arrived since the last
report, so windows do not overlap and a quiet classifier costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.errors import InvalidRequest
from textloop.jobs.queue import enqueue
from textloop.lru import LRU
from textloop.models.base import ModelResources, Use
from textloop.models.encoders import DEFAULT_ENCODER
from textloop.models.out_of_scope import found_unlike
from textloop.monitoring import measures as m
from textloop.notifications.events import emit
from textloop.predict.model_cache import ModelCache
from textloop.predict.outcome import scored
from textloop.predict.predictor import DIRECT
from textloop.registry.aliases import PRODUCTION
from textloop.store.database import Store
from textloop.store.queries import aliased_model, get_classifier
from textloop.store.tables import (
    Classifier,
    DriftReport,
    Example,
    Job,
    JobStatus,
    ModelAlias,
    ModelVersion,
    Prediction,
    as_utc,
    utcnow,
)

DRIFT = "drift"
REFERENCE_SIZE = 1000
MIN_REFERENCE = 20  # held-out rows; fewer make every measure noise
WINDOW_LIMITS = (50, 100_000)
# The fewest predictions a verdict is drawn from, forced checks included: on 10 predictions three
# of five measures read as drift on traffic like the held-out rows.
MIN_WINDOW = WINDOW_LIMITS[0]
RECHECK_AFTER = timedelta(minutes=10)  # after a check that made no report (skipped or failed)
_REFERENCES: LRU[int, Reference] = LRU(4)


@dataclass(frozen=True)
class Reference:
    """The held-out side of every comparison for one model version."""

    embeddings: np.ndarray
    labels: list[str]
    confidences: np.ndarray
    lengths: np.ndarray
    vocabulary: frozenset[str]
    oov: float
    encoder: str


def thresholds(classifier: Classifier) -> dict[str, float]:
    return {
        name: float((classifier.drift_thresholds or {}).get(name, measure.threshold))
        for name, measure in m.MEASURES.items()
    }


def configure_drift(
    session: Session,
    name: str,
    window: int | None = None,
    changed: dict[str, float] | None = None,
) -> Classifier:
    classifier = get_classifier(session, name)
    if window is not None:
        low, high = WINDOW_LIMITS
        if not low <= window <= high:
            raise InvalidRequest(
                f"the drift window must be {low}-{high:,} predictions", field="window"
            )
        classifier.drift_window = window
    if changed:
        unknown = sorted(set(changed) - set(m.MEASURES))
        if unknown:
            raise InvalidRequest(
                f"unknown drift measure {unknown[0]!r}; the measures are: {', '.join(m.MEASURES)}",
                field="threshold",
            )
        classifier.drift_thresholds = {
            **(classifier.drift_thresholds or {}),
            **{name: float(value) for name, value in changed.items()},
        }
    return classifier


def enqueue_due_drift_checks(session: Session) -> int:
    """Queue a check for each classifier whose production model filled a window since the last
    report; called by idle workers."""
    queued = 0
    rows = session.execute(
        select(Classifier.id, Classifier.drift_window, ModelAlias.model_version_id).join(
            ModelAlias,
            (ModelAlias.classifier_id == Classifier.id) & (ModelAlias.alias == PRODUCTION),
        )
    ).all()
    for classifier_id, window, model_version_id in rows:
        if _recently_came_to_nothing(session, classifier_id):
            continue
        if _new_predictions(session, classifier_id, model_version_id, window) >= window:
            enqueue(session, DRIFT, classifier_id, reason="a window of predictions is full")
            queued += 1
    return queued


def check_drift(
    store: Store,
    settings: Settings,
    name: str,
    payload: dict[str, Any],
    resources: ModelResources | None = None,
) -> dict[str, Any]:
    """The ``drift`` job; ``payload["force"]`` checks the newest window even if it was checked."""
    resources = resources or ModelResources.for_settings(settings, Use.SERVING)
    with store.session() as session:
        classifier = get_classifier(session, name)
        model = aliased_model(session, classifier, PRODUCTION)
        if model is None:
            return {"skipped": "no production model"}
        size, limits = classifier.drift_window, thresholds(classifier)
        fresh = _new_predictions(session, classifier.id, model.id, size)
        if fresh < size and not payload.get("force"):
            return {"skipped": f"{fresh} new predictions, fewer than the window of {size}"}
        window = session.execute(
            select(
                Prediction.text,
                Prediction.label,
                Prediction.confidence,
                Prediction.created_at,
                Prediction.out_of_scope,
            )
            .where(
                Prediction.classifier_id == classifier.id, Prediction.model_version_id == model.id
            )
            .order_by(Prediction.created_at.desc(), Prediction.id.desc())
            .limit(size)
        ).all()
        if len(window) < MIN_WINDOW:
            return {
                "skipped": f"{len(window)} predictions by the production model; a verdict needs "
                f"at least {MIN_WINDOW}"
            }
        previous = session.scalar(
            select(DriftReport)
            .where(DriftReport.classifier_id == classifier.id)
            .order_by(DriftReport.id.desc())
            .limit(1)
        )
        was_drifting = bool(previous and previous.drifted and previous.model_version_id == model.id)
        classifier_id, model_id, version = classifier.id, model.id, model.version
        out_of_scope_label = classifier.out_of_scope_label
    reference = _reference(store, settings, model_id, resources)
    if reference is None:
        return {"skipped": f"fewer than {MIN_REFERENCE} held-out rows to compare with"}
    texts, labels, confidences, _, aside = zip(*window, strict=True)
    values = measure(reference, list(texts), list(labels), np.array(confidences), resources)
    unlike = [found_unlike(a, y, out_of_scope_label) for a, y in zip(aside, labels, strict=True)]
    values["out_of_scope_rate"] = round(float(np.mean(unlike)), 4)
    breached = [
        name
        for name, value in values.items()
        if name in limits and m.MEASURES[name].breached(value, limits[name])
    ]
    with store.session() as session:
        report = DriftReport(
            classifier_id=classifier_id,
            model_version_id=model_id,
            window_size=len(window),
            window_end=window[0][3],
            measures=values,
            breached=breached,
            drifted=bool(breached),
        )
        session.add(report)
        session.flush()
        report_id = report.id
    if breached and not was_drifting:
        emit(
            store,
            classifier_id,
            "drift.detected",
            classifier=name,
            version=version,
            breached=breached,
            measures=values,
            window=len(window),
            report=report_id,
        )
    return {"report": report_id, "drifted": bool(breached), "breached": breached}


def measure(
    reference: Reference,
    texts: list[str],
    labels: list[str],
    confidences: np.ndarray,
    resources: ModelResources,
) -> dict[str, float]:
    """Every measure of one window against the reference."""
    embeddings = resources.encoder_pool().get(reference.encoder).encode(texts)
    return {
        "embedding_auc": round(m.domain_auc(reference.embeddings, embeddings), 4),
        "embedding_distance": round(m.mean_embedding_distance(reference.embeddings, embeddings), 4),
        "oov_increase": round(m.oov_rate(texts, reference.vocabulary) - reference.oov, 4),
        "length_ks": round(m.ks_statistic(reference.lengths, m.lengths(texts)), 4),
        "confidence_ks": round(m.ks_statistic(reference.confidences, confidences), 4),
        "label_shift": round(m.label_shift(reference.labels, labels), 4),
    }


def latest_reports(session: Session, name: str, limit: int = 20) -> list[DriftReport]:
    classifier = get_classifier(session, name)
    return list(
        session.scalars(
            select(DriftReport)
            .where(DriftReport.classifier_id == classifier.id)
            .order_by(DriftReport.id.desc())
            .limit(limit)
        )
    )


def _recently_came_to_nothing(session: Session, classifier_id: int) -> bool:
    """Whether the newest check of this classifier ended without a report a moment ago: its
    window is still "full", and checking again at once would fail or skip again."""
    last = session.scalar(
        select(Job)
        .where(Job.kind == DRIFT, Job.classifier_id == classifier_id)
        .order_by(Job.id.desc())
        .limit(1)
    )
    ended = (JobStatus.SUCCEEDED, JobStatus.DEAD)
    if last is None or last.status not in ended or last.finished_at is None:
        return False
    made_report = bool((last.result or {}).get("report"))
    return not made_report and as_utc(last.finished_at) > utcnow() - RECHECK_AFTER


def _new_predictions(session: Session, classifier_id: int, model_version_id: int, cap: int) -> int:
    """Predictions by this model since the last report's window ended, counted up to ``cap``."""
    since = session.scalar(
        select(func.max(DriftReport.window_end)).where(
            DriftReport.classifier_id == classifier_id,
            DriftReport.model_version_id == model_version_id,
        )
    )
    newer = select(Prediction.id).where(
        Prediction.classifier_id == classifier_id, Prediction.model_version_id == model_version_id
    )
    if since is not None:
        newer = newer.where(Prediction.created_at > since)
    return session.scalar(select(func.count()).select_from(newer.limit(cap).subquery())) or 0


def _reference(
    store: Store, settings: Settings, model_id: int, resources: ModelResources
) -> Reference | None:
    """The model's reference, built outside any transaction (it scores and embeds up to
    ``REFERENCE_SIZE`` texts: on SQLite an open transaction would hold every writer back);
    None when the model has too few held-out rows to compare with."""
    cached = _REFERENCES.get(model_id)
    if cached is not None:
        return cached
    with store.session() as session:
        model = session.get(ModelVersion, model_id)
        assert model is not None
        artifact, params = model.artifact_uri, dict(model.params)
        rows = session.execute(
            select(Example.text, Example.split).where(
                Example.dataset_version_id == model.dataset_version_id
            )
        ).all()
    held_out = [t for t, split in rows if split == "test"] or [
        t for t, split in rows if split == "validation"
    ]
    if len(held_out) > REFERENCE_SIZE:
        chosen = np.random.default_rng(0).choice(len(held_out), REFERENCE_SIZE, replace=False)
        held_out = [held_out[i] for i in sorted(chosen)]
    if len(held_out) < MIN_REFERENCE:
        return None
    trained_on = [t for t, split in rows if split != "test"]
    classifier = ModelCache.shared(artifacts_for(settings), resources).get(model_id, artifact)
    answers = scored(classifier, DIRECT.predict(classifier, held_out))
    known = m.vocabulary(trained_on)
    encoder = str(params.get("encoder") or DEFAULT_ENCODER)
    reference = Reference(
        embeddings=resources.encoder_pool().get(encoder).encode(held_out),
        labels=[item.label for item in answers],
        confidences=np.array([item.confidence for item in answers]),
        lengths=m.lengths(held_out),
        vocabulary=known,
        oov=m.oov_rate(held_out, known),
        encoder=encoder,
    )
    _REFERENCES.put(model_id, reference)
    return reference


def drift_summary(session: Session, name: str, limit: int = 20) -> dict[str, Any]:
    """The settings and the newest reports, as the CLI, the API and the portal show them."""
    classifier = get_classifier(session, name)
    versions = dict(
        session.execute(
            select(ModelVersion.id, ModelVersion.version).where(
                ModelVersion.classifier_id == classifier.id
            )
        ).all()
    )
    return {
        "classifier": name,
        "window": classifier.drift_window,
        "thresholds": thresholds(classifier),
        "reports": [
            {
                "id": report.id,
                "model_version": versions.get(report.model_version_id),
                "window_size": report.window_size,
                "window_end": as_utc(report.window_end).isoformat(),
                "measures": report.measures,
                "breached": report.breached,
                "drifted": report.drifted,
                "created_at": as_utc(report.created_at).isoformat(),
            }
            for report in latest_reports(session, name, limit)
        ],
    }
