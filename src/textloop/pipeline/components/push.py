"""Push: register the candidate as the classifier's next model version, with its evidence.

The version carries its test metrics, blessing and infra-validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from textloop.metadata.recorder import model_uri
from textloop.pipeline.component import Component, Output, RunWorkspace
from textloop.registry.models import register_model
from textloop.store.queries import get_classifier
from textloop.store.tables import DatasetVersion, ModelVersion


@dataclass
class PushStep(Component):
    name: ClassVar[str] = "push"

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        candidate = inputs["train"].properties
        evaluation = inputs["evaluate"].properties
        verdict = inputs["bless"].properties
        infra = inputs["infra_validate"].properties
        model = workspace.model(candidate["path"])
        metrics = {
            "test": evaluation["test"],
            "validation": candidate["validation"],
            "selected_from": candidate["selected_from"],
            "calibration": evaluation["calibration"],
        }
        name = workspace.classifier
        with workspace.store.session() as session:
            classifier = get_classifier(session, name)
            dataset = session.get(
                DatasetVersion, inputs["dataset"].properties["dataset_version_id"]
            )
            assert dataset is not None
            record = register_model(
                session, workspace.artifacts, classifier, dataset, model, metrics
            )
            record.blessing = verdict
            record.infra_validation = infra
            version, record_id, path = record.version, record.id, record.artifact_uri
        return Output(
            "model",
            workspace.artifacts.content_hash(path),
            {
                "model_version_id": record_id,
                "version": version,
                "family": candidate["family"],
                "accuracy": evaluation["test"].get("accuracy"),
                **(
                    {"micro_f1": evaluation["test"]["micro_f1"]}
                    if "micro_f1" in evaluation["test"]
                    else {}
                ),
                "blessed": verdict["blessed"],
            },
            model_uri(name, version),
        )

    def available(self, workspace: RunWorkspace, output: Output) -> bool:
        with workspace.store.session() as session:
            record = session.get(ModelVersion, output.properties.get("model_version_id"))
            return record is not None and workspace.artifacts.exists(record.artifact_uri)
