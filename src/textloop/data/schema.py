"""What a classifier's data is expected to look like, inferred once from its first dataset version.

Later batches are validated against it (see ``validation``): the label set, an upper bound on text
length, the label distribution (for shift detection) and the share of non-ASCII text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from textloop.data.statistics import TextStatistics

LENGTH_HEADROOM = 2.0  # texts longer than this many times the longest reference text are extreme


@dataclass(frozen=True)
class Schema:
    labels: list[str]
    max_length: int
    label_distribution: dict[str, float]
    non_ascii_share: float

    @classmethod
    def infer(cls, stats: TextStatistics) -> Schema:
        summary = stats.summary()
        counts = {label: n for label, n in stats.label_counts.items() if label}
        total = sum(counts.values()) or 1
        return cls(
            labels=sorted(counts),
            max_length=int(summary["length"]["max"] * LENGTH_HEADROOM),
            label_distribution={label: counts[label] / total for label in sorted(counts)},
            non_ascii_share=summary["non_ascii_share"],
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        return cls(**data)
