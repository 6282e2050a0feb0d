"""Deploy: make the pushed version ``production`` when it is blessed and passed infra-validation.

Only in runs asked to deploy (``train --deploy``). It always runs, never cached: whether to move
the alias depends on the moment, not only on the inputs. A version that does not qualify stays
registered and the output says why.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from textloop.jobs.lease import fence
from textloop.pipeline.component import Component, Output, Workspace
from textloop.registry.aliases import PRODUCTION, set_alias
from textloop.store.queries import aliased_model, get_classifier


@dataclass
class DeployStep(Component):
    alias: str = PRODUCTION
    name: ClassVar[str] = "deploy"
    cacheable: ClassVar[bool] = False

    def run(self, workspace: Workspace, inputs: Mapping[str, Output]) -> Output:
        version = inputs["push"].properties["version"]
        verdict, infra = inputs["bless"].properties, inputs["infra_validate"].properties
        reasons = [] if verdict["blessed"] else list(verdict["reasons"])
        reasons += [] if infra["passed"] else list(infra["reasons"])
        properties: dict[str, Any] = {"alias": self.alias, "version": version}
        with workspace.store.session() as session:
            current = aliased_model(
                session, get_classifier(session, workspace.classifier), self.alias
            )
            if current is not None and current.version == version:
                reasons.append(f"version {version} is {self.alias} already")
        if reasons:
            properties.update(deployed=False, reasons=reasons)
        else:
            with workspace.store.session() as session:
                fence(session)  # run by a worker: only while the job is still its own
                moved = set_alias(session, workspace.classifier, self.alias, version, record=False)
            properties.update(deployed=True, previous_version=moved.previous_version)
        name = uuid.uuid4().hex
        return Output(
            "deployment", name, properties, f"textloop://{workspace.classifier}/deployments/{name}"
        )
