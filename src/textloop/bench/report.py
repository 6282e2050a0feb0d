"""What one benchmark phase costs: the server's CPU time per request, turned into dollars.

The default price is that of the smallest machine one would serve from: AWS c7i.large (2 vCPU,
4 GiB), on-demand Linux in us-east-1, $0.08925 an hour, so $0.0446 per vCPU-hour. Cost per
million requests is the price of the server's CPU time a million requests take, measured from
``/proc``: it does not depend on where the load generator runs or on how busy the server was
kept. Where the server's CPU is not measured (someone else's server without its PID), it falls
back to the instance-hours a million requests take at the measured throughput.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from textloop.bench.loadgen import LoadResult
from textloop.bench.server_stats import Usage

DEFAULT_PRICE_PER_HOUR = 0.08925
DEFAULT_PRICE_SOURCE = "AWS c7i.large (2 vCPU, 4 GiB), on-demand Linux, us-east-1"
DEFAULT_VCPUS = 2  # the cores that price buys


def cost_per_million(price_per_hour: float, throughput: float) -> float | None:
    """Dollars per million successful requests at the machine's price, kept that busy; None
    when nothing succeeded."""
    if throughput <= 0:
        return None
    return price_per_hour / (throughput * 3600.0) * 1_000_000


def cpu_cost_per_million(price_per_hour: float, vcpus: int, cpu_ms: float) -> float:
    """Dollars per million requests that take ``cpu_ms`` of CPU each, at a vCPU's share of the
    machine's price."""
    return price_per_hour / vcpus / 3600.0 * cpu_ms / 1000.0 * 1_000_000


@dataclass(frozen=True)
class PhaseReport:
    """One concurrency level: the load's result, the server's usage (None when not measured)."""

    load: LoadResult
    usage: Usage | None
    cost_per_million: float | None
    cpu_ms_per_request: float | None  # the server's CPU time over its successful answers

    @classmethod
    def of(
        cls, load: LoadResult, usage: Usage | None, price_per_hour: float, vcpus: int
    ) -> PhaseReport:
        answered = load.requests - load.errors
        if usage is None or answered <= 0:
            return cls(load, usage, cost_per_million(price_per_hour, load.throughput), None)
        cpu_ms = usage.cpu_seconds * 1000.0 / answered
        return cls(load, usage, cpu_cost_per_million(price_per_hour, vcpus, cpu_ms), cpu_ms)

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self.load),
            "server_cpu_percent": self.usage.cpu_percent if self.usage else None,
            "server_cpu_ms_per_request": self.cpu_ms_per_request,
            "server_rss_mib": self.usage.rss_mib if self.usage else None,
            "cost_per_million": self.cost_per_million,
            "cost_basis": "server CPU time"
            if self.cpu_ms_per_request is not None
            else "throughput",
        }
