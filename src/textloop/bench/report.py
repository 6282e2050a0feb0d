"""What one benchmark phase costs: throughput turned into dollars per million requests.

The default price is that of the smallest machine one would serve from: AWS c7i.large (2 vCPU,
4 GiB), on-demand Linux in us-east-1, $0.08925 an hour. Cost per million requests is the price
of the instance-hours a million requests take at the measured throughput, assuming the
instance does nothing else and is kept that busy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from textloop.bench.loadgen import LoadResult
from textloop.bench.server_stats import Usage

DEFAULT_PRICE_PER_HOUR = 0.08925
DEFAULT_PRICE_SOURCE = "AWS c7i.large (2 vCPU, 4 GiB), on-demand Linux, us-east-1"


def cost_per_million(price_per_hour: float, throughput: float) -> float | None:
    """Dollars per million successful requests; None when nothing succeeded."""
    if throughput <= 0:
        return None
    return price_per_hour / (throughput * 3600.0) * 1_000_000


@dataclass(frozen=True)
class PhaseReport:
    """One concurrency level: the load's result, the server's usage (None when not measured)."""

    load: LoadResult
    usage: Usage | None
    cost_per_million: float | None

    @classmethod
    def of(cls, load: LoadResult, usage: Usage | None, price_per_hour: float) -> PhaseReport:
        return cls(load, usage, cost_per_million(price_per_hour, load.throughput))

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self.load),
            "server_cpu_percent": self.usage.cpu_percent if self.usage else None,
            "server_rss_mib": self.usage.rss_mib if self.usage else None,
            "cost_per_million": self.cost_per_million,
        }
