"""``/metrics`` in the Prometheus text format, read from the database on each scrape.

Reading the database rather than counting in memory makes every server process and worker
report the same figures, however many there are; a scrape costs a few grouped counts. The
serving figures (model calls, the queue of predictions to store, encodings, dropped shadow
work) and the request latency histogram are the answering process's own, labelled with its pid:
with ``serve --workers N`` a scrape shows the one process that answered it, and each process's
series stay its own (never one series that jumps between processes and looks like a reset).

``prometheus_client`` writes the exposition (its escaping, number format and family layout):
the figures here are custom collector families (``CounterMetricFamily``, ``GaugeMetricFamily``),
made per scrape for the reader's classifiers, the library's way to export figures kept
elsewhere. Its multiprocess mode would merge the processes' histograms, at the cost of a
shared directory that must be wiped at every start and of memory-mapped values for every
metric; the database figures already agree across processes and the rest keep a pid.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from textloop import __version__
from textloop.monitoring.drift import thresholds
from textloop.registry.aliases import PRODUCTION
from textloop.store.tables import (
    Classifier,
    DriftReport,
    Job,
    ModelAlias,
    ModelVersion,
    Prediction,
    ReviewTask,
)

HELP = {
    "textloop_info": ("gauge", "textloop's version"),
    "textloop_predictions_total": ("counter", "predictions stored, per classifier"),
    "textloop_review_tasks": ("gauge", "review tasks per classifier and status"),
    "textloop_jobs": ("gauge", "background jobs per kind and status"),
    "textloop_production_version": ("gauge", "the model version in production"),
    "textloop_drift_detected": ("gauge", "1 when the newest drift report found drift"),
    "textloop_drift_measure": ("gauge", "each measure of the newest drift report"),
    "textloop_drift_threshold": ("gauge", "the threshold of each drift measure"),
    "textloop_model_calls_total": ("counter", "model calls made by this process's batcher"),
    "textloop_model_call_texts_total": ("counter", "texts in those calls (/ calls: batch size)"),
    "textloop_predictions_queued": ("gauge", "answered predictions not yet stored"),
    "textloop_predictions_queue_limit": (
        "gauge",
        "queued predictions past which classify answers 503 (prediction_queue_limit)",
    ),
    "textloop_predictions_oldest_seconds": (
        "gauge",
        "how long the oldest answered prediction not yet stored has waited",
    ),
    "textloop_predictions_stored_total": ("counter", "predictions this process has stored"),
    "textloop_predictions_rejected_total": (
        "counter",
        "answered predictions the database refused, kept in <data dir>/rejected",
    ),
    "textloop_texts_encoded_total": ("counter", "texts encoded (not found in the cache)"),
    "textloop_shadow_dropped_total": ("counter", "requests the shadow model fell behind on"),
    "textloop_deployment_not_loaded": (
        "gauge",
        "an alias moved to a version this process cannot load; it serves the version before",
    ),
}
Sample = tuple[str, dict[str, str], float]


def render_metrics(
    session: Session,
    process: Iterable[Sample] = (),
    classifiers: Iterable[str] | None = None,
    collectors: Iterable[Collector] = (),
) -> bytes:
    """The database's figures, and ``process`` and ``collectors``: those of the process
    answering (``collectors``: ``prometheus_client`` collectors, the latency histogram).

    ``classifiers``: the only classifiers the reader may see (a key limited to some); None for
    all. Figures of other classifiers, their names included, are left out.
    """
    allowed = None if classifiers is None else set(classifiers)
    names = {
        classifier_id: name
        for classifier_id, name in session.execute(select(Classifier.id, Classifier.name))
        if allowed is None or name in allowed
    }
    ids = list(names)
    samples: list[Sample] = [("textloop_info", {"version": __version__}, 1), *process]
    for classifier_id, count in session.execute(
        select(Prediction.classifier_id, func.count())
        .where(Prediction.classifier_id.in_(ids))
        .group_by(Prediction.classifier_id)
    ):
        samples.append(("textloop_predictions_total", {"classifier": names[classifier_id]}, count))
    for classifier_id, status, count in session.execute(
        select(ReviewTask.classifier_id, ReviewTask.status, func.count())
        .where(ReviewTask.classifier_id.in_(ids))
        .group_by(ReviewTask.classifier_id, ReviewTask.status)
    ):
        labels = {"classifier": names[classifier_id], "status": status}
        samples.append(("textloop_review_tasks", labels, count))
    jobs = select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)
    if allowed is not None:
        jobs = jobs.where(Job.classifier_id.in_(ids))
    for kind, status, count in session.execute(jobs):
        samples.append(("textloop_jobs", {"kind": kind, "status": status}, count))
    for classifier_id, version in session.execute(
        select(ModelAlias.classifier_id, ModelVersion.version)
        .join(ModelVersion, ModelVersion.id == ModelAlias.model_version_id)
        .where(ModelAlias.alias == PRODUCTION, ModelAlias.classifier_id.in_(ids))
    ):
        labels = {"classifier": names[classifier_id]}
        samples.append(("textloop_production_version", labels, version))
    samples.extend(_drift(session, names))
    families = [*_families(samples), *(f for c in collectors for f in c.collect())]
    visible = [kept for f in families if (kept := _visible(f, allowed)).samples]
    return generate_latest(_Scrape(visible))


def _drift(session: Session, names: dict[int, str]) -> Iterable[Sample]:
    newest = select(func.max(DriftReport.id)).group_by(DriftReport.classifier_id).scalar_subquery()
    for report in session.scalars(
        select(DriftReport).where(
            DriftReport.id.in_(newest), DriftReport.classifier_id.in_(list(names))
        )
    ):
        name = names[report.classifier_id]
        yield "textloop_drift_detected", {"classifier": name}, float(report.drifted)
        for measure, value in report.measures.items():
            yield "textloop_drift_measure", {"classifier": name, "measure": measure}, value
        classifier = session.get(Classifier, report.classifier_id)
        assert classifier is not None
        for measure, limit in thresholds(classifier).items():
            yield "textloop_drift_threshold", {"classifier": name, "measure": measure}, limit


def _families(samples: list[Sample]) -> Iterator[Metric]:
    """One family per name of ``HELP`` that has samples, in ``HELP``'s order; the samples of a
    name all carry the same label names."""
    for metric, (kind, text) in HELP.items():
        rows = [(labels, value) for name, labels, value in samples if name == metric]
        if not rows:
            continue
        label_names = list(rows[0][0])
        family: CounterMetricFamily | GaugeMetricFamily = (
            CounterMetricFamily(metric, text, labels=label_names)
            if kind == "counter"
            else GaugeMetricFamily(metric, text, labels=label_names)
        )
        for labels, value in rows:
            family.add_metric([labels[k] for k in label_names], float(value))
        yield family


def _visible(family: Metric, allowed: set[str] | None) -> Metric:
    """``family`` without the samples of classifiers the reader may not see, and without the
    ``_created`` series of the library's own metrics: the text format has no place for them
    beside their family, and would show each as a gauge of its own."""
    seen = None if allowed is None else allowed | {""}  # "": a figure of no classifier
    created = f"{family.name}_created"
    kept = Metric(family.name, family.documentation, family.type, family.unit)
    kept.samples = [
        s
        for s in family.samples
        if s.name != created and (seen is None or s.labels.get("classifier", "") in seen)
    ]
    return kept


class _Scrape:
    """The families of one scrape, as the collector ``generate_latest`` reads."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families
