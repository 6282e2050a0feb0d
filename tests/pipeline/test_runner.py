"""The runner executes steps as a DAG, records each one, and reuses identical earlier steps."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import pytest
from sqlalchemy import select

from textloop.config import Settings
from textloop.errors import InvalidRequest
from textloop.models.base import ModelResources
from textloop.pipeline.component import Component, Output, RunWorkspace, json_hash
from textloop.pipeline.runner import Step, run_pipeline
from textloop.store import Store
from textloop.store.queries import get_or_create_classifier
from textloop.store.tables import Context, Execution

CALLS: list[str] = []


@dataclass
class Number(Component):
    """Outputs ``value``; downstream ``Add`` steps sum their inputs and ``plus``."""

    value: int
    name: ClassVar[str] = "number"

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        CALLS.append(f"number {self.value}")
        return Output("number", json_hash(self.value), {"value": self.value})


@dataclass
class Add(Component):
    plus: int = 0
    name: ClassVar[str] = "add"

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        total = sum(i.properties["value"] for i in inputs.values()) + self.plus
        CALLS.append(f"add {total}")
        return Output("number", json_hash(total), {"value": total})


@dataclass
class Explode(Component):
    name: ClassVar[str] = "explode"

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        raise RuntimeError("boom")


@pytest.fixture
def workspace(store: Store, settings: Settings) -> RunWorkspace:
    with store.session() as session:
        get_or_create_classifier(session, "sums")
    CALLS.clear()
    return RunWorkspace(store, settings, "sums", ModelResources())


def diamond(first: int = 1, plus: int = 10) -> list[Step]:
    return [
        Step("a", Number(first)),
        Step("b", Add(), ("a",)),
        Step("c", Add(plus), ("a",)),
        Step("d", Add(), ("b", "c")),
    ]


def statuses(result: object) -> dict[str, str]:
    return {name: step.status for name, step in result.steps.items()}  # type: ignore[attr-defined]


def test_steps_run_in_order_and_each_is_recorded_in_one_run(workspace: RunWorkspace) -> None:
    result = run_pipeline(workspace, "sum", diamond(), {})
    assert result.output("d").properties == {"value": 12}
    assert CALLS == ["number 1", "add 1", "add 11", "add 12"]
    with workspace.store.session() as session:
        context = session.get(Context, result.run_id)
        assert context is not None and (context.name, context.status) == ("sum", "succeeded")
        steps = session.scalars(
            select(Execution.component).where(Execution.context_id == context.id)
        )
        assert list(steps) == ["a", "b", "c", "d"]


def test_an_identical_second_run_executes_nothing(workspace: RunWorkspace) -> None:
    first = run_pipeline(workspace, "sum", diamond(), {})
    CALLS.clear()
    second = run_pipeline(workspace, "sum", diamond(), {})
    assert CALLS == [] and second.cached
    assert set(statuses(second).values()) == {"cached"}
    assert second.output("d").uri == first.output("d").uri


def test_a_changed_parameter_reruns_its_step_and_what_depends_on_it(
    workspace: RunWorkspace,
) -> None:
    run_pipeline(workspace, "sum", diamond(), {})
    CALLS.clear()
    result = run_pipeline(workspace, "sum", diamond(plus=5), {})
    assert statuses(result) == {"a": "cached", "b": "cached", "c": "succeeded", "d": "succeeded"}
    assert result.output("d").properties == {"value": 7}


def test_a_step_whose_inputs_are_unchanged_in_content_stays_cached(workspace: RunWorkspace) -> None:
    steps = [Step("a", Number(2)), Step("b", Add(plus=-2), ("a",)), Step("c", Add(), ("b",))]
    run_pipeline(workspace, "sum", steps, {})
    steps = [Step("a", Number(3)), Step("b", Add(plus=-3), ("a",)), Step("c", Add(), ("b",))]
    result = run_pipeline(workspace, "sum", steps, {})
    # b's output (0) has the same content as before, so c is reused.
    assert statuses(result) == {"a": "succeeded", "b": "succeeded", "c": "cached"}


def test_from_step_reruns_that_step_and_everything_downstream(workspace: RunWorkspace) -> None:
    run_pipeline(workspace, "sum", diamond(), {})
    result = run_pipeline(workspace, "sum", diamond(), {}, from_step="c")
    assert statuses(result) == {"a": "cached", "b": "cached", "c": "succeeded", "d": "succeeded"}
    no_cache = run_pipeline(workspace, "sum", diamond(), {}, use_cache=False)
    assert set(statuses(no_cache).values()) == {"succeeded"}


def test_a_failing_step_fails_the_run_and_skips_what_follows(workspace: RunWorkspace) -> None:
    steps = [Step("a", Number(1)), Step("x", Explode(), ("a",)), Step("d", Add(), ("x",))]
    with pytest.raises(RuntimeError, match="boom"):
        run_pipeline(workspace, "sum", steps, {})
    with workspace.store.session() as session:
        context = session.scalars(select(Context)).one()
        assert (context.status, context.error) == ("failed", "x: RuntimeError: boom")
        recorded = session.execute(
            select(Execution.component, Execution.status).order_by(Execution.id)
        )
        assert list(recorded) == [("a", "succeeded"), ("x", "failed")]
    CALLS.clear()
    with pytest.raises(RuntimeError):
        run_pipeline(workspace, "sum", steps, {})
    assert CALLS == []  # the step before the failure was reused; the failure was not cached


def test_steps_out_of_order_and_unknown_from_steps_are_refused(workspace: RunWorkspace) -> None:
    with pytest.raises(ValueError, match="needs \\['a'\\] to run before it"):
        run_pipeline(workspace, "sum", [Step("b", Add(), ("a",)), Step("a", Number(1))], {})
    with pytest.raises(InvalidRequest, match="unknown step 'z'; the steps are: a, b, c, d"):
        run_pipeline(workspace, "sum", diamond(), {}, from_step="z")
