"""Deploy: make the pushed version ``production`` through ``release.deploy``, the one door.

Only in runs asked to deploy (``train --deploy``, ``Workspace.train(deploy=True)`` (the
notebook's)); a retrain deploys through the same door after announcing its verdict. It always runs,
never cached: whether to move the alias depends on the moment, not only on the inputs. A version
that does not qualify stays registered and the output says why; the run records the move as this
step's output, so the door records nothing of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from textloop.errors import NotBlessed
from textloop.jobs.lease import fence
from textloop.pipeline.component import Component, Output, RunWorkspace
from textloop.registry.aliases import PRODUCTION
from textloop.release.deploy import deploy_model
from textloop.store.queries import aliased_model, get_classifier


@dataclass
class DeployStep(Component):
    alias: str = PRODUCTION
    name: ClassVar[str] = "deploy"
    cacheable: ClassVar[bool] = False

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        version = inputs["push"].properties["version"]
        properties: dict[str, Any] = {"alias": self.alias, "version": version}
        with workspace.store.session() as session:
            current = aliased_model(
                session, get_classifier(session, workspace.classifier), self.alias
            )
        if current is not None and current.version == version:
            properties.update(
                deployed=False, reasons=[f"version {version} is {self.alias} already"]
            )
        else:
            try:
                moved = deploy_model(
                    workspace.store,
                    workspace.settings,
                    workspace.classifier,
                    version,
                    alias=self.alias,
                    guard=fence,  # run by a worker: only while the job is still its own
                    record=False,
                )
            except NotBlessed as refused:
                properties.update(deployed=False, reasons=[str(refused)])
            else:
                properties.update(deployed=True, previous_version=moved.previous_version)
        name = uuid.uuid4().hex
        return Output(
            "deployment", name, properties, f"textloop://{workspace.classifier}/deployments/{name}"
        )
