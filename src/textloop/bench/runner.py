"""One benchmark from start to end: check, start the server, probe, run each phase, clean up.

The order of clean-up matters and ``ExitStack`` keeps it: the server stops before its temporary
key is deleted, and both happen however the run ends.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textloop.bench.access import temporary_api_key
from textloop.bench.cores import UNPINNED, CoreSplit, pinned
from textloop.bench.loadgen import Target, probe, run_load
from textloop.bench.local_server import LocalServer, local_server
from textloop.bench.report import DEFAULT_VCPUS, PhaseReport
from textloop.bench.server_stats import UsageSampler
from textloop.bench.texts import file_texts, stored_texts
from textloop.config import Settings
from textloop.predict.deployment import production_model
from textloop.store import open_store
from textloop.store.queries import get_classifier

Status = Callable[[str], AbstractContextManager[Any]]


@dataclass(frozen=True)
class BenchPlan:
    """What to run. With ``url`` the server is someone else's: ``api_key`` is needed, and CPU
    and memory are measured only when ``server_pid`` is given."""

    classifier: str
    concurrency: tuple[int, ...]
    duration: float
    price_per_hour: float
    url: str | None = None
    api_key: str | None = None
    server_pid: int | None = None
    workers: int | None = None
    texts_file: Path | None = None
    cores: CoreSplit = UNPINNED  # the load generator's and the server's
    vcpus: int = DEFAULT_VCPUS  # the cores ``price_per_hour`` buys


def run_bench(
    settings: Settings, plan: BenchPlan, status: Status = lambda _: nullcontext()
) -> dict[str, Any]:
    """Run every phase and return the report as plain data (what ``--json`` prints)."""
    with ExitStack() as stack:
        server: LocalServer | None = None
        pid: int | None
        if plan.url is None:
            store = open_store(settings)
            with store.session() as session:
                production_model(session, get_classifier(session, plan.classifier))
                texts = (
                    file_texts(plan.texts_file)
                    if plan.texts_file is not None
                    else stored_texts(session, plan.classifier)
                )
            key = stack.enter_context(temporary_api_key(store, plan.classifier))
            with status("starting textloop serve"):
                server = stack.enter_context(
                    local_server(settings, plan.workers, plan.cores.server)
                )
            url, pid = server.url, server.pid
        else:
            if plan.texts_file is not None:
                texts = file_texts(plan.texts_file)
            else:
                with open_store(settings).session() as session:
                    texts = stored_texts(session, plan.classifier)
            assert plan.api_key is not None
            url, key, pid = plan.url, plan.api_key, plan.server_pid
        target = Target.from_url(url, plan.classifier, key)
        stack.enter_context(pinned(plan.cores.client))
        with status("sending a first request"):
            probe(target, texts[0])
        phases = []
        for number, users in enumerate(plan.concurrency, start=1):
            with status(
                f"phase {number}/{len(plan.concurrency)}: {users} users, {plan.duration:g} s"
            ):
                phases.append(_phase(plan, target, texts, users, pid))
            if server is not None:
                server.raise_if_exited()
    return {
        "classifier": plan.classifier,
        "url": url,
        "texts": len(texts),
        "duration_seconds": plan.duration,
        "price_per_hour": plan.price_per_hour,
        "vcpus": plan.vcpus,
        "cores": plan.cores.describe(),
        "server": {
            "started_by_bench": server is not None,
            "pid": pid,
            "workers": (plan.workers or 1) if server is not None else None,
            "ready_seconds": server.ready_seconds if server is not None else None,
        },
        "results": [phase.to_dict() for phase in phases],
    }


def _phase(
    plan: BenchPlan, target: Target, texts: list[str], users: int, pid: int | None
) -> PhaseReport:
    if pid is None:
        load = run_load(target, texts, users, plan.duration)
        return PhaseReport.of(load, None, plan.price_per_hour, plan.vcpus)
    with UsageSampler(pid) as sampler:
        load = run_load(target, texts, users, plan.duration, on_measure=sampler.restart)
    return PhaseReport.of(load, sampler.usage, plan.price_per_hour, plan.vcpus)
