"""Statistics, schema, validation and split of a dataset version, as pipeline steps.

Ingest computes a batch's statistics and anomalies over the raw rows (dropped empty rows
included) and stores them with the version; these steps record them as artifacts of the run and
apply the gate: error-level anomalies stop the run unless ``ignore_anomalies``. A multi-label
classifier's statistics, schema and anomalies are per label name (``data.statistics``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.data.label_sets import Mode
from textloop.data.schema import Schema
from textloop.data.statistics import TextStatistics
from textloop.errors import Remedy, TrainingError
from textloop.pipeline.component import Component, Output, RunWorkspace, json_hash
from textloop.store.tables import Classifier, DatasetVersion, Example


@dataclass
class StatisticsStep(Component):
    """The mergeable statistics of the version, computed from its rows if ingest kept none."""

    name: ClassVar[str] = "statistics"

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        with workspace.store.session() as session:
            dataset = _dataset(session, inputs["dataset"])
            if dataset.statistics:
                statistics = TextStatistics.from_dict(dataset.statistics)
            else:
                classifier = session.get(Classifier, dataset.classifier_id)
                assert classifier is not None
                rows = session.execute(
                    select(Example.text, Example.label).where(
                        Example.dataset_version_id == dataset.id
                    )
                )
                statistics = TextStatistics.of(
                    ((text, label) for text, label in rows),
                    multi_label=classifier.mode == Mode.MULTI_LABEL,
                )
        summary = statistics.summary()
        return Output("statistics", json_hash(statistics.to_dict()), {"summary": summary})


@dataclass
class SchemaStep(Component):
    """The classifier's schema, inferred from its first dataset version's statistics."""

    name: ClassVar[str] = "schema"

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        with workspace.store.session() as session:
            dataset = _dataset(session, inputs["dataset"])
            classifier = session.get(Classifier, dataset.classifier_id)
            assert classifier is not None
            if classifier.data_schema is None and dataset.statistics:
                statistics = TextStatistics.from_dict(dataset.statistics)
                classifier.data_schema = Schema.infer(statistics).to_dict()
            schema = dict(classifier.data_schema or {})
        return Output("schema", json_hash(schema), schema)


@dataclass
class ValidateStep(Component):
    """The version's anomalies against the schema; error-level ones block the run."""

    ignore_anomalies: bool = False
    name: ClassVar[str] = "validate"

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        with workspace.store.session() as session:
            dataset = _dataset(session, inputs["dataset"])
            anomalies = list(dataset.anomalies or [])
            number = dataset.version
        errors = [a for a in anomalies if a["severity"] == "error"]
        if errors and not self.ignore_anomalies:
            found = "; ".join(f"{a['kind']} ({a['count']})" for a in errors)
            name = workspace.classifier
            raise TrainingError(
                f"dataset version {number} of {name!r} has blocking anomalies: {found}",
                remedy=Remedy(
                    cli=f"see `textloop stats {name} --dataset-version {number}`; fix the data "
                    "or train with --ignore-anomalies",
                    api='fix the data, or train with "ignore_anomalies": true',
                ),
            )
        counts = {a["kind"]: a["count"] for a in anomalies}
        return Output(
            "anomalies",
            json_hash([anomalies, inputs["schema"].content_hash]),
            {"errors": len(errors), "counts": counts},
        )


@dataclass
class SplitStep(Component):
    """The train/validation/test assignment, fixed per text at ingest by its hash."""

    name: ClassVar[str] = "split"

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        dataset = inputs["dataset"]
        splits = workspace.splits(dataset.properties["dataset_version_id"])
        counts = {name: len(texts) for name, (texts, _) in splits.items()}
        return Output(
            "splits",
            json_hash(["splits", dataset.content_hash]),
            {"dataset_version_id": dataset.properties["dataset_version_id"], "counts": counts},
        )


def _dataset(session: Session, dataset: Output) -> DatasetVersion:
    row = session.get(DatasetVersion, dataset.properties["dataset_version_id"])
    assert row is not None
    return row
