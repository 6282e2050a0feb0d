"""Statistics of labelled text that merge exactly: merge(stats(A), stats(B)) == stats(A + B).

Every field is kept in a form whose merge is exact: counts and sums add, the text-length
histogram adds (lengths are bounded, so quantiles come out exact), the per-text label counts add
(they give exact duplicates and label conflicts), and vocabulary size comes from a HyperLogLog
sketch whose merge is exact and whose estimate is within about 1.6 % (see ``sketches``).

A multi-label batch's labels are encoded sets (``label_sets``): ``label_counts`` and the per-text
counts keep whole sets (so a text seen with two different sets is a conflict), and the figures a
person reads per label count each name, over the rows that have a text: how many texts carry
it, which names come together (pairs), how many names a text carries, and how many carry none.
These are counters too, so they merge as exactly; a single-label batch has none of them and is
stored and summarised as it always was.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from textloop.data.label_sets import decode, encode
from textloop.data.sketches import HyperLogLog
from textloop.data.splits import normalize_text, text_hash

TOKEN = re.compile(r"\w+", re.UNICODE)
TOP_PAIRS = 10  # the label pairs a summary shows, most frequent first


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
    multi_label: bool = False
    name_counts: Counter[str] = field(default_factory=Counter)  # texts per label name
    pair_counts: Counter[str] = field(default_factory=Counter)  # texts per pair, encoded
    set_sizes: Counter[int] = field(default_factory=Counter)  # texts per number of names

    @classmethod
    def of(
        cls, rows: Iterable[tuple[str | None, str | None]], multi_label: bool = False
    ) -> TextStatistics:
        """``multi_label``: the labels are encoded label sets."""
        stats = cls(multi_label=multi_label)
        for raw_text, raw_label in rows:
            label = encode(decode(raw_label or "")) if multi_label else (raw_label or "").strip()
            stats._add(normalize_text(raw_text or ""), label)
        return stats

    def _add(self, text: str, label: str) -> None:
        self.rows += 1
        self.label_counts[label] += 1
        if not text:
            self.empty_texts += 1
            return
        if self.multi_label:
            names = decode(label)
            self.name_counts.update(names)
            self.pair_counts.update(encode(pair) for pair in combinations(names, 2))
            self.set_sizes[len(names)] += 1
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
            multi_label=self.multi_label or other.multi_label,
            name_counts=self.name_counts + other.name_counts,
            pair_counts=self.pair_counts + other.pair_counts,
            set_sizes=self.set_sizes + other.set_sizes,
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
    def per_label(self) -> Counter[str]:
        """Rows per label: per name for label sets (a text counts once for each of its names),
        and no count for the empty label."""
        if self.multi_label:
            return Counter(self.name_counts)
        return Counter({label: count for label, count in self.label_counts.items() if label})

    @property
    def imbalance_ratio(self) -> float:
        counts = list(self.per_label.values())
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
        } | (self._label_set_summary() if self.multi_label else {})

    def _label_set_summary(self) -> dict[str, Any]:
        """The per-label figures of label sets, in place of the per-set ones."""
        sizes = self.set_sizes
        texts = sum(sizes.values())
        pairs = sorted(self.pair_counts.items(), key=lambda pair: (-pair[1], pair[0]))
        return {
            "mode": "multi-label",
            "labels": dict(sorted(self.name_counts.items())),
            "label_count": len(self.name_counts),
            "texts_without_labels": sizes[0],
            "labels_per_text": {
                "mean": sum(size * n for size, n in sizes.items()) / texts if texts else 0.0,
                "max": max(sizes) if sizes else 0,
                "distribution": {str(size): sizes[size] for size in sorted(sizes)},
            },
            "co_occurrence": [
                {"labels": list(decode(pair)), "texts": count} for pair, count in pairs[:TOP_PAIRS]
            ],
            "label_sets": len([labels for labels in self.label_counts if labels]),
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
        } | (
            {
                "multi_label": True,
                "name_counts": dict(self.name_counts),
                "pair_counts": dict(self.pair_counts),
                "set_sizes": {str(k): v for k, v in self.set_sizes.items()},
            }
            if self.multi_label
            else {}
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextStatistics:
        return cls(
            multi_label=data.get("multi_label", False),
            name_counts=Counter(data.get("name_counts", {})),
            pair_counts=Counter(data.get("pair_counts", {})),
            set_sizes=Counter({int(k): v for k, v in data.get("set_sizes", {}).items()}),
            rows=data["rows"],
            empty_texts=data["empty_texts"],
            non_ascii_texts=data["non_ascii_texts"],
            length_sum=data["length_sum"],
            length_histogram=Counter({int(k): v for k, v in data["length_histogram"].items()}),
            label_counts=Counter(data["label_counts"]),
            text_labels={k: Counter(v) for k, v in data["text_labels"].items()},
            vocabulary=HyperLogLog(list(data["vocabulary"])),
        )
