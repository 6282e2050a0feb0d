"""Infra-validate: the candidate must load and answer in a fresh process, fast enough.

The process loads it as a replica will, so ``runtime`` (the encoder runtime it is measured on)
is one of the step's parameters: a result measured on another runtime is never reused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from textloop.pipeline.component import Component, Output, RunWorkspace, json_hash
from textloop.release.infra_validation import MAX_P95_MS, infra_validate


@dataclass
class InfraValidateStep(Component):
    runtime: str = "onnx-int8"
    max_p95_ms: float = MAX_P95_MS
    sample_size: int = 50
    name: ClassVar[str] = "infra_validate"
    version: ClassVar[str] = "2"  # 2: measured as a replica loads it, no longer on PyTorch

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        candidate = inputs["train"].properties
        splits = workspace.splits(inputs["split"].properties["dataset_version_id"])
        sample = [text for texts, _ in splits.values() for text in texts][: self.sample_size]
        result = infra_validate(
            workspace.artifacts.local(candidate["path"]),
            candidate["classes"],
            sample or ["hello"],
            workspace.settings,
            self.max_p95_ms,
        ).to_dict()
        return Output("infra_validation", json_hash(result), result)
