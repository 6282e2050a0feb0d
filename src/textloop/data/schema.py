"""What a classifier's data is expected to look like, inferred once from its first dataset version.

Later batches are validated against it (see ``validation``): the label set, an upper bound on text
length, the label distribution (for shift detection) and the share of non-ASCII text. A
multi-label classifier's schema is per label name: its ``labels`` are the names, and its
distribution is each name's share of all the names its texts carry.
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
    multi_label: bool = False

    @classmethod
    def infer(cls, stats: TextStatistics) -> Schema:
        summary = stats.summary()
        counts = stats.per_label
        total = sum(counts.values()) or 1
        return cls(
            labels=sorted(counts),
            max_length=int(summary["length"]["max"] * LENGTH_HEADROOM),
            label_distribution={label: counts[label] / total for label in sorted(counts)},
            non_ascii_share=summary["non_ascii_share"],
            multi_label=stats.multi_label,
        )

    def to_dict(self) -> dict[str, Any]:
        """A single-label schema is stored as it was before there were modes."""
        data = asdict(self)
        if not self.multi_label:
            del data["multi_label"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        return cls(**data)
