"""The ingest pipeline: a received batch becomes a dataset version, recorded as one run.

    batch ─► ingest

A batch refused as bad input (no usable rows, a text over the limit, a file read as multi-label
for a single-label classifier or the other way round, a label name a multi-label classifier does
not know) leaves nothing behind: not the run, and not the classifier if this call created it.
Any other failure never leaves an empty classifier that this call created either (its failed
run goes with it).
"""

from __future__ import annotations

import pyarrow as pa
from sqlalchemy import delete, exists, select

from textloop.config import Settings
from textloop.data.datasets import IngestResult, classifier_for
from textloop.data.label_sets import Mode
from textloop.models.base import ModelResources, Use
from textloop.pipeline.component import RunWorkspace
from textloop.pipeline.components.ingest import BatchImporter, IngestStep
from textloop.pipeline.runner import Step, run_pipeline
from textloop.store.database import Store
from textloop.store.tables import Classifier, DatasetVersion, ExecutionStatus


def ingest_batch(
    store: Store,
    settings: Settings,
    name: str,
    table: pa.Table,
    source: str,
    built_on: int | None = None,
    mode: Mode | None = None,
    new_labels: bool = False,
) -> IngestResult:
    """``built_on``: the dataset version ``table`` was derived from (``ingest_table``).
    ``mode``: how ``table`` was read, which a new classifier takes and an existing one must
    have; None for a table in the classifier's own form (reviewed labels over its rows).
    ``new_labels``: a multi-label classifier may take label names it does not know yet."""
    with store.session() as session:
        new = session.scalar(select(Classifier.id).where(Classifier.name == name)) is None
        classifier_for(session, name, mode)
    ingest = IngestStep(dict(settings.split_fractions), built_on, mode, new_labels)
    steps = [
        Step("batch", BatchImporter(table, source)),
        Step("ingest", ingest, ("batch",)),
    ]
    try:
        workspace = RunWorkspace(
            store, settings, name, ModelResources.for_settings(settings, Use.TRAINING)
        )
        result = run_pipeline(workspace, "ingest", steps, {"source": source})
    except BaseException:  # bad input or not, a refused ingest leaves no empty classifier
        if new:  # unless a concurrent ingest has stored a version in it meanwhile
            with store.session() as session:
                session.execute(
                    delete(Classifier).where(
                        Classifier.name == name,
                        ~exists().where(DatasetVersion.classifier_id == Classifier.id),
                    )
                )
        raise
    step = result.steps["ingest"]
    output = result.output("ingest").properties
    with store.session() as session:
        dataset = session.get(DatasetVersion, output["dataset_version_id"])
        classifier = session.get(Classifier, dataset.classifier_id) if dataset else None
        assert dataset is not None and classifier is not None
        return IngestResult(
            classifier=name,
            version=dataset.version,
            dataset_version_id=dataset.id,
            rows=dataset.row_count,
            dropped=output.get("dropped", 0),
            duplicates=output.get("duplicates", 0),
            created=step.status == ExecutionStatus.SUCCEEDED and output.get("created", True),
            split_counts=dict(dataset.split_counts),
            labels=list(classifier.labels),
            anomalies=list(dataset.anomalies or []),
            extra_columns=list(output.get("extra_columns", [])),
            content_hash=dataset.content_hash,
        )
