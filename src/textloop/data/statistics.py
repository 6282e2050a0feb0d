"""Statistics of labelled text that merge exactly: merge(stats(A), stats(B)) == stats(A + B).

Every field is kept in a form whose merge is exact: counts and sums add, the text-length
histogram adds (lengths are bounded, so quantiles come out exact), the per-text label counts add
(they give exact duplicates and label conflicts), and vocabulary size comes from a HyperLogLog
sketch whose merge is exact and whose estimate is within about 1.6 % (see ``sketches``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from textloop.data.sketches import HyperLogLog
from textloop.data.splits import normalize_text, text_hash

TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass
class TextStatistics:
    rows: int = 0
    empty_texts: int = 0
    non_ascii_texts: int = 0
    length_sum: int = 0
    length_histogram: Counter[int] = field(default_factory=Counter)
    label_counts: Counter[str] = field(default_factory=Counter)
    text_labels: dict[str, Counter[str]] = field(default_factory=dict)
    vocabulary: HyperLogLog = field(default_factory=HyperLogLog)

    @classmethod
    def of(cls, rows: Iterable[tuple[str | None, str | None]]) -> TextStatistics:
        stats = cls()
        for raw_text, raw_label in rows:
            stats._add(normalize_text(raw_text or ""), (raw_label or "").strip())
        return stats

    def _add(self, text: str, label: str) -> None:
        self.rows += 1
        self.label_counts[label] += 1
        if not text:
            self.empty_texts += 1
            return
        length = len(text)
        self.length_sum += length
        self.length_histogram[length] += 1
        if not text.isascii():
            self.non_ascii_texts += 1
        self.text_labels.setdefault(text_hash(text)[:16], Counter())[label] += 1
        self.vocabulary.add_all(token.lower() for token in TOKEN.findall(text))

    def merge(self, other: TextStatistics) -> TextStatistics:
        text_labels = {key: Counter(value) for key, value in self.text_labels.items()}
        for key, labels in other.text_labels.items():
            text_labels.setdefault(key, Counter()).update(labels)
        return TextStatistics(
            rows=self.rows + other.rows,
            empty_texts=self.empty_texts + other.empty_texts,
            non_ascii_texts=self.non_ascii_texts + other.non_ascii_texts,
            length_sum=self.length_sum + other.length_sum,
            length_histogram=self.length_histogram + other.length_histogram,
            label_counts=self.label_counts + other.label_counts,
            text_labels=text_labels,
            vocabulary=self.vocabulary.merge(other.vocabulary),
        )

    # Derived figures -------------------------------------------------------------------------

    @property
    def texts(self) -> int:
        return self.rows - self.empty_texts

    @property
    def repeated_texts(self) -> int:
        """Rows whose (non-empty) text already appeared in an earlier row, with any label."""
        return sum(sum(labels.values()) - 1 for labels in self.text_labels.values())

    @property
    def duplicate_rows(self) -> int:
        """Rows that repeat an earlier row's text and label: what ingest stores once."""
        return sum(count - 1 for labels in self.text_labels.values() for count in labels.values())

    @property
    def conflicting_texts(self) -> int:
        """Distinct texts that carry more than one label."""
        return sum(1 for labels in self.text_labels.values() if len(labels) > 1)

    def length_quantile(self, q: float) -> int:
        """The exact ``q`` quantile of text length (lower value), 0 when there are no texts."""
        if not self.texts:
            return 0
        target = q * (self.texts - 1)
        seen = 0
        for length in sorted(self.length_histogram):
            seen += self.length_histogram[length]
            if seen > target:
                return length
        return max(self.length_histogram)

    @property
    def imbalance_ratio(self) -> float:
        counts = [count for label, count in self.label_counts.items() if label]
        return max(counts) / min(counts) if counts else 0.0

    def summary(self) -> dict[str, Any]:
        """The human-facing figures (JSON-ready)."""
        lengths = self.length_histogram
        return {
            "rows": self.rows,
            "empty_texts": self.empty_texts,
            "repeated_texts": self.repeated_texts,
            "duplicate_rows": self.duplicate_rows,
            "conflicting_texts": self.conflicting_texts,
            "length": {
                "min": min(lengths) if lengths else 0,
                "mean": self.length_sum / self.texts if self.texts else 0.0,
                "p50": self.length_quantile(0.5),
                "p90": self.length_quantile(0.9),
                "p99": self.length_quantile(0.99),
                "max": max(lengths) if lengths else 0,
            },
            "labels": dict(sorted(self.label_counts.items())),
            "label_count": len([label for label in self.label_counts if label]),
            "imbalance_ratio": self.imbalance_ratio,
            "vocabulary_size": self.vocabulary.estimate(),
            "non_ascii_share": self.non_ascii_texts / self.texts if self.texts else 0.0,
        }

    # Persistence -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "empty_texts": self.empty_texts,
            "non_ascii_texts": self.non_ascii_texts,
            "length_sum": self.length_sum,
            "length_histogram": {str(k): v for k, v in self.length_histogram.items()},
            "label_counts": dict(self.label_counts),
            "text_labels": {k: dict(v) for k, v in self.text_labels.items()},
            "vocabulary": self.vocabulary.registers,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextStatistics:
        return cls(
            rows=data["rows"],
            empty_texts=data["empty_texts"],
            non_ascii_texts=data["non_ascii_texts"],
            length_sum=data["length_sum"],
            length_histogram=Counter({int(k): v for k, v in data["length_histogram"].items()}),
            label_counts=Counter(data["label_counts"]),
            text_labels={k: Counter(v) for k, v in data["text_labels"].items()},
            vocabulary=HyperLogLog(list(data["vocabulary"])),
        )
