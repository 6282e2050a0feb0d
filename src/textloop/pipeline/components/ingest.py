"""Ingest: a received table becomes a content-addressed dataset version of the classifier.

``BatchImporter`` hands the table in and names it by the hash of its content, so that ingesting
the same batch again is a cached step; ``IngestStep`` stores it (``data.datasets.ingest_table``
drops empty rows, splits by hash, computes statistics and anomalies).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa

from textloop.data.datasets import ingest_table
from textloop.data.label_sets import Mode
from textloop.metadata.recorder import dataset_uri
from textloop.pipeline.component import NOT_A_PARAMETER, Component, Output, RunWorkspace


@dataclass
class BatchImporter(Component):
    table: pa.Table = field(metadata=NOT_A_PARAMETER)
    source: str = ""
    name: ClassVar[str] = "batch"
    cacheable: ClassVar[bool] = False
    importer: ClassVar[bool] = True

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        digest = table_hash(self.table)
        workspace.batches[digest] = self.table
        return Output(
            "batch",
            digest,
            {
                "source": self.source,
                "rows": self.table.num_rows,
                "columns": self.table.column_names,
            },
        )


@dataclass
class IngestStep(Component):
    fractions: dict[str, float]
    # the version the batch was derived from, if any: a precondition, not a parameter
    built_on: int | None = field(default=None, metadata=NOT_A_PARAMETER)
    # how the batch was read: it must be the classifier's mode, fixed at its creation, so it
    # is a precondition too (``classifier_for``), and no cache key of an older run changes
    mode: Mode | None = field(default=None, metadata=NOT_A_PARAMETER)
    # whether a multi-label classifier may take label names it does not know: a permission,
    # not a parameter (a batch stored with it is the same version without it)
    new_labels: bool = field(default=False, metadata=NOT_A_PARAMETER)
    name: ClassVar[str] = "ingest"

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        batch = inputs["batch"]
        table = workspace.batches[batch.content_hash]
        with workspace.store.session() as session:
            result = ingest_table(
                session,
                workspace.classifier,
                table,
                batch.properties["source"],
                self.fractions,
                self.built_on,
                self.mode,
                self.new_labels,
            )
        properties: dict[str, Any] = {
            "dataset_version_id": result.dataset_version_id,
            "version": result.version,
            "rows": result.rows,
            "split_counts": result.split_counts,
            "dropped": result.dropped,
            "duplicates": result.duplicates,
            "created": result.created,
        }
        if result.extra_columns:
            properties["extra_columns"] = result.extra_columns
        return Output(
            "dataset",
            result.content_hash,
            properties,
            dataset_uri(workspace.classifier, result.version),
        )


def table_hash(table: pa.Table) -> str:
    """SHA-256 of the column names and values, whatever the table's chunking."""
    digest = hashlib.sha256(json.dumps(table.column_names).encode("utf-8"))
    for name in table.column_names:
        values = table.column(name).to_pylist()
        digest.update(json.dumps(values, ensure_ascii=False, default=str).encode("utf-8"))
    return digest.hexdigest()
