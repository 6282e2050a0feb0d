"""Tune: a budgeted search over each model family's hyper-parameters, scored on validation.

Each family's defaults are tried first, then distinct points of its ``search_space`` in a seeded
random order, families taking turns, until ``trials`` extra trials are done or ``seconds`` have
passed. Every trial is recorded; with ``trials=0`` nothing is fitted and the defaults stand. The
best model of each family is handed to ``train`` in memory, so it is not fitted twice.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from textloop.models.base import families, fit_model
from textloop.models.compose import judge, worth_fitting
from textloop.models.label_heads import are_label_sets
from textloop.models.tags import tags_of
from textloop.pipeline.component import Component, Output, RunWorkspace, json_hash, warm_up


def family_versions(names: Sequence[str]) -> dict[str, str | None]:
    """A family's own ``version`` (if it declares one), so that changing its code invalidates
    cached steps even when textloop's version stays the same (a user's family, say)."""
    return {name: tags_of(families.get(name)).version for name in names}


def fitted_key(family: str, params: dict[str, Any], splits: str, pool: str | None) -> str:
    return json_hash([family, params, splits, pool])


def pool_hash(inputs: Mapping[str, Output]) -> str | None:
    pool = inputs.get("pool")
    return pool.content_hash if pool else None


def configurations(family: str, seed: int) -> list[dict[str, Any]]:
    """Overrides to try for ``family``: ``{}`` (its defaults) first, then the shuffled grid
    without the point that repeats the defaults."""
    space = tags_of(families.get(family)).search_space
    names = sorted(space)
    if not names:
        return [{}]
    defaults = families.create(family).get_params()
    grid = [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(space[n] for n in names))
    ]
    grid = [point for point in grid if any(defaults.get(k) != v for k, v in point.items())]
    random.Random(seed).shuffle(grid)
    return [{}, *grid]


@dataclass
class TuneStep(Component):
    candidates: tuple[str, ...]
    trials: int = 0
    seconds: float = 300.0
    seed: int = 0
    name: ClassVar[str] = "tune"

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        split, pool = inputs["split"], inputs.get("pool")
        defaults = {f: _params(workspace, f, {}) for f in self.candidates}
        if self.trials <= 0:
            return Output("hyperparameters", json_hash(defaults), {"best": defaults, "trials": []})
        splits = workspace.splits(split.properties["dataset_version_id"])
        train_texts, train_labels = splits.get("train", ([], []))
        val_texts, val_labels = splits.get("validation", ([], []))
        if not val_texts or (len(set(train_labels)) < 2 and not are_label_sets(train_labels)):
            return Output(
                "hyperparameters",
                json_hash(defaults),
                {"best": defaults, "trials": [], "skipped": "no validation rows to score on"},
            )
        unlabelled = workspace.unlabelled(pool, splits)
        fitting, _ = worth_fitting(self.candidates, train_labels)
        queues = {f: configurations(f, self.seed) for f in fitting}
        rounds = max(len(queue) for queue in queues.values())
        order = [f for i in range(rounds) for f in fitting if i < len(queues[f])]
        trials: list[dict[str, Any]] = []
        best: dict[str, tuple[tuple[float, float], dict[str, Any]]] = {}
        turns = {f: iter(queues[f]) for f in fitting}
        deadline = time.monotonic() + self.seconds
        for family in order:  # each family's defaults first, then the extra trials
            extra = len(trials) - len(fitting)
            if extra >= self.trials or (extra >= 0 and time.monotonic() > deadline):
                break
            overrides = next(turns[family])
            params = _params(workspace, family, overrides)
            started = time.perf_counter()
            model = families.create(family, workspace.resources, **overrides)
            warm_up(model, train_texts + val_texts + unlabelled, family, workspace.progress)
            workspace.progress.task(
                f"tune trial {len(trials) + 1}: {family} {overrides or 'defaults'}"
            )
            fit_model(model, train_texts, train_labels, unlabelled)
            score, rank = judge(model, val_texts, val_labels)
            workspace.progress.done()
            trials.append(
                {
                    "family": family,
                    "params": params,
                    **score,
                    "seconds": round(time.perf_counter() - started, 3),
                }
            )
            if family not in best or rank > best[family][0]:
                previous = best.get(family)
                if previous is not None:
                    stale = fitted_key(family, previous[1], split.content_hash, pool_hash(inputs))
                    workspace.fitted.pop(stale, None)
                best[family] = (rank, params)
                fresh = fitted_key(family, params, split.content_hash, pool_hash(inputs))
                workspace.fitted[fresh] = model
        chosen = {f: best[f][1] if f in best else defaults[f] for f in self.candidates}
        # Downstream steps consume only the choice: the same choice reached by another search
        # (or with other timings) leaves them cached.
        return Output("hyperparameters", json_hash(chosen), {"best": chosen, "trials": trials})

    def parameters(self) -> dict[str, Any]:
        return {**super().parameters(), "family_versions": family_versions(self.candidates)}


def _params(workspace: RunWorkspace, family: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The full, JSON-able parameters of ``family`` with ``overrides`` applied."""
    return dict(families.create(family, workspace.resources, **overrides).get_params())
