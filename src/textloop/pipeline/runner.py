"""Runs a pipeline of components as a DAG, recording each step and reusing identical ones.

Steps run in the given order, which must be a topological order of their ``inputs``. Each step
is one execution in the metadata store, grouped under one context (the pipeline run). A step
whose component, version, parameters and inputs' content hashes match an earlier successful
execution is not run: its recorded output is reused and the step is recorded as ``cached``.
``from_step`` forces that step and everything downstream of it to run again (backfill). A run
that fails records the failing step and its error; one refused as bad input leaves no record.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from textloop.errors import DataError, InvalidRequest, NotFound
from textloop.metadata.recorder import (
    cache_key,
    cached_execution,
    close_context,
    content_uri,
    discard_context,
    open_context,
    record_artifact,
    record_execution,
)
from textloop.pipeline.component import Component, Output, RunWorkspace, json_hash
from textloop.store.queries import get_classifier
from textloop.store.tables import Artifact, ExecutionStatus, RunStatus, utcnow

# The caller's mistake, not the pipeline's: such a run is forgotten rather than recorded as failed.
BAD_INPUT = (DataError, InvalidRequest, NotFound)


@dataclass(frozen=True)
class Step:
    name: str
    component: Component
    inputs: tuple[str, ...] = ()


@dataclass
class StepResult:
    status: ExecutionStatus  # succeeded or cached
    output: Output | None = None
    seconds: float = 0.0
    execution_id: int | None = None
    cacheable: bool = True


@dataclass
class PipelineResult:
    run_id: int
    steps: dict[str, StepResult] = field(default_factory=dict)

    def output(self, step: str) -> Output:
        output = self.steps[step].output
        if output is None:
            raise RuntimeError(f"step {step} produced nothing")
        return output

    @property
    def cached(self) -> bool:
        """Whether every step that can be cached was (importers and deploy always run)."""
        return all(s.status == ExecutionStatus.CACHED for s in self.steps.values() if s.cacheable)


def downstream_of(steps: Sequence[Step], start: str) -> set[str]:
    """``start`` and every step that depends on it, directly or not."""
    names = {step.name for step in steps}
    if start not in names:
        raise InvalidRequest(
            f"unknown step {start!r}; the steps are: {', '.join(s.name for s in steps)}",
            field="from_step",
        )
    reached = {start}
    for step in steps:
        if reached.intersection(step.inputs):
            reached.add(step.name)
    return reached


def run_pipeline(
    workspace: RunWorkspace,
    pipeline: str,
    steps: Sequence[Step],
    parameters: dict[str, Any],
    use_cache: bool = True,
    from_step: str | None = None,
) -> PipelineResult:
    _check_order(steps)
    forced = downstream_of(steps, from_step) if from_step else set()
    with workspace.store.session() as session:
        classifier_id = get_classifier(session, workspace.classifier).id
        run_id = open_context(session, classifier_id, pipeline, parameters).id
    result = PipelineResult(run_id)
    for step in steps:
        inputs = {name: result.output(name) for name in step.inputs}
        try:
            result.steps[step.name] = _run_step(
                workspace,
                classifier_id,
                run_id,
                step,
                inputs,
                use_cache and step.name not in forced,
            )
        except BaseException as exc:  # an interrupted run is recorded as failed, too
            with workspace.store.session() as session:
                if isinstance(exc, BAD_INPUT):
                    discard_context(session, run_id)
                else:
                    close_context(
                        session, run_id, RunStatus.FAILED, f"{step.name}: {_message(exc)}"
                    )
            raise
    with workspace.store.session() as session:
        close_context(session, run_id, RunStatus.SUCCEEDED)
    return result


def _run_step(
    workspace: RunWorkspace,
    classifier_id: int,
    run_id: int,
    step: Step,
    inputs: dict[str, Output],
    use_cache: bool,
) -> StepResult:
    component = step.component
    parameters = component.parameters()
    key = cache_key(
        f"{component.name}@{component.version}",
        parameters,
        [inputs[name].content_hash for name in step.inputs],
    )
    started_at, started = utcnow(), time.perf_counter()
    if use_cache and component.cacheable:
        reused = _reuse(workspace, step, key, inputs, classifier_id, run_id, started_at)
        if reused is not None:
            return reused
    workspace.progress.task(f"{step.name}")
    try:
        output = component.run(workspace, inputs)
    except BaseException as exc:
        with workspace.store.session() as session:
            record_execution(
                session,
                classifier_id,
                step.name,
                parameters,
                started_at,
                _recorded(session, classifier_id, workspace.classifier, inputs.values()),
                status=ExecutionStatus.FAILED,
                error=_message(exc),
                context_id=run_id,
            )
        raise
    finally:
        workspace.progress.done()
    with workspace.store.session() as session:
        (artifact,) = _recorded(session, classifier_id, workspace.classifier, [output])
        consumed = _recorded(session, classifier_id, workspace.classifier, inputs.values())
        execution = record_execution(
            session,
            classifier_id,
            step.name,
            parameters,
            started_at,
            [*consumed, artifact] if component.importer else consumed,
            [] if component.importer else [artifact],
            cache_key=key if component.cacheable else None,
            context_id=run_id,
        )
        output = Output(output.type, output.content_hash, output.properties, artifact.uri)
        seconds = time.perf_counter() - started
        return StepResult(
            ExecutionStatus.SUCCEEDED, output, seconds, execution.id, component.cacheable
        )


def _reuse(
    workspace: RunWorkspace,
    step: Step,
    key: str,
    inputs: dict[str, Output],
    classifier_id: int,
    run_id: int,
    started_at: Any,
) -> StepResult | None:
    with workspace.store.session() as session:
        hit = cached_execution(session, classifier_id, key)
        if hit is None or len(hit[1]) != 1:
            return None
        earlier_id, output = hit[0].id, _as_output(hit[1][0])
    # Checked between sessions: ``available`` may open its own, and SQLite runs one at a time.
    if not step.component.available(workspace, output):
        return None
    with workspace.store.session() as session:
        artifact = _recorded(session, classifier_id, workspace.classifier, [output])[0]
        execution = record_execution(
            session,
            classifier_id,
            step.name,
            {**step.component.parameters(), "reused_execution": earlier_id},
            started_at,
            _recorded(session, classifier_id, workspace.classifier, inputs.values()),
            [artifact],
            status=ExecutionStatus.CACHED,
            context_id=run_id,
        )
        return StepResult(ExecutionStatus.CACHED, output, 0.0, execution.id)


def _recorded(
    session: Session, classifier_id: int, classifier: str, outputs: Iterable[Output]
) -> list[Artifact]:
    """The artifact record of each output; its URI covers the properties, not just the hash."""
    return [
        record_artifact(
            session,
            classifier_id,
            output.type,
            output.uri
            or content_uri(
                classifier, output.type, json_hash([output.content_hash, output.properties])
            ),
            output.content_hash,
            output.properties,
        )
        for output in outputs
    ]


def _message(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    if message:
        return str(message)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _as_output(artifact: Artifact) -> Output:
    return Output(
        artifact.type, artifact.content_hash or "", dict(artifact.properties), artifact.uri
    )


def _check_order(steps: Sequence[Step]) -> None:
    seen: set[str] = set()
    for step in steps:
        missing = [name for name in step.inputs if name not in seen]
        if missing:
            raise ValueError(f"step {step.name} needs {missing} to run before it")
        if step.name in seen:
            raise ValueError(f"two steps are named {step.name}")
        seen.add(step.name)
