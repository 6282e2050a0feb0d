"""Importers: steps that name an artifact that already exists, so that runs consume it.

They only look things up, so they always run (they are never cached): the dataset version a run
trains on, the classifier's unlabelled pool, and whichever model is in production when the run
starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from textloop.metadata.recorder import dataset_uri, find_artifact, model_uri
from textloop.pipeline.component import Component, Output, RunWorkspace
from textloop.registry.aliases import PRODUCTION
from textloop.review.pool import pool_digest
from textloop.store.queries import aliased_model, get_classifier, get_dataset_version


@dataclass
class DatasetImporter(Component):
    """The ingested dataset version to train on (ingest recorded it, with its content hash)."""

    dataset_version: int
    name: ClassVar[str] = "dataset"
    cacheable: ClassVar[bool] = False
    importer: ClassVar[bool] = True

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        with workspace.store.session() as session:
            classifier = get_classifier(session, workspace.classifier)
            dataset = get_dataset_version(session, classifier, self.dataset_version)
            return Output(
                "dataset",
                dataset.content_hash,
                {
                    "dataset_version_id": dataset.id,
                    "version": dataset.version,
                    "rows": dataset.row_count,
                    "split_counts": dict(dataset.split_counts),
                },
                dataset_uri(workspace.classifier, dataset.version),
            )


@dataclass
class ProductionImporter(Component):
    """The model a candidate must not be worse than; ``version`` is None when there is none."""

    alias: str = PRODUCTION
    name: ClassVar[str] = "production"
    cacheable: ClassVar[bool] = False
    importer: ClassVar[bool] = True

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        name = workspace.classifier
        with workspace.store.session() as session:
            model = aliased_model(session, get_classifier(session, name), self.alias)
            if model is None:
                return Output(  # the alias, pointing at nothing: no model to name
                    "model",
                    "none",
                    {"version": None, "alias": self.alias},
                    f"textloop://{name}/aliases/{self.alias}",
                )
            uri = model_uri(name, model.version)
            recorded = find_artifact(session, uri)
            content_hash = recorded.content_hash if recorded is not None else None
            return Output(
                "model",
                content_hash or workspace.artifacts.content_hash(model.artifact_uri),
                {"version": model.version, "path": model.artifact_uri},
                uri,
            )


@dataclass
class PoolImporter(Component):
    """The classifier's unlabelled texts, which families that can learn from them train on."""

    name: ClassVar[str] = "pool"
    cacheable: ClassVar[bool] = False
    importer: ClassVar[bool] = True

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        with workspace.store.session() as session:
            classifier = get_classifier(session, workspace.classifier)
            count, digest = pool_digest(session, classifier.id)
        return Output(
            "pool",
            digest,
            {"classifier_id": classifier.id, "texts": count},
            f"textloop://{workspace.classifier}/pool/{digest[:16]}",
        )
