"""Checks a batch of labelled text against a classifier's schema and reports anomalies.

Each anomaly has a kind, a severity (``error`` blocks training, ``warning`` does not), an exact
count and up to five example rows (numbered from 1, the header not counted). Thresholds that turn
a warning into an error live in ``ValidationConfig``.

Against a multi-label schema the labels are encoded sets (``label_sets``) and every check that
counts labels counts names: a row is ``unknown_label`` when any of its names is unknown, a name
is ``missing_label`` when no row carries it, and ``label_shift`` compares the names'
distribution. An empty set is an answer there, not a row without a label; a text seen with two
different sets is a conflict.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from textloop.data.label_sets import decode, encode
from textloop.data.schema import Schema
from textloop.data.splits import normalize_text

EXAMPLES = 5


@dataclass(frozen=True)
class ValidationConfig:
    max_empty_share: float = 0.01  # more empty texts than this is an error
    max_conflict_share: float = 0.01  # more rows in label conflicts than this is an error
    max_label_shift: float = 0.1  # Jensen-Shannon distance of label distributions
    missing_label_severity: str = "warning"


@dataclass
class Anomaly:
    kind: str
    severity: str
    count: int
    message: str
    examples: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_rows(
    rows: Sequence[tuple[str | None, str | None]],
    schema: Schema,
    config: ValidationConfig | None = None,
) -> list[Anomaly]:
    config = config or ValidationConfig()
    multi = schema.multi_label
    texts = [normalize_text(text or "") for text, _ in rows]
    if multi:
        labels = [encode(decode(label or "")) for _, label in rows]
        names = [decode(label) for label in labels]
    else:
        labels = [(label or "").strip() for _, label in rows]
        names = [(label,) if label else () for label in labels]
    known = set(schema.labels)
    anomalies: list[Anomaly] = []

    def example(i: int) -> dict[str, Any]:
        if multi:
            return {"row": i + 1, "text": texts[i], "labels": list(names[i])}
        return {"row": i + 1, "text": texts[i], "label": labels[i]}

    def add(
        kind: str, severity: str, indexes: list[int], message: str, count: int | None = None
    ) -> None:
        if indexes:
            examples = [example(i) for i in indexes[:EXAMPLES]]
            anomalies.append(Anomaly(kind, severity, count or len(indexes), message, examples))

    empty = [i for i, text in enumerate(texts) if not text]
    share = len(empty) / max(len(rows), 1)
    add(
        "empty_text",
        "error" if share > config.max_empty_share else "warning",
        empty,
        f"{len(empty)} rows have an empty or whitespace-only text ({share:.1%})",
    )
    if not multi:  # an empty set is an answer: "no label applies"
        add(
            "empty_label",
            "warning",
            [i for i, label in enumerate(labels) if not label],
            "rows without a label are ignored",
        )
    unknown = [i for i, row in enumerate(names) if any(name not in known for name in row)]
    unknown_labels = sorted({name for i in unknown for name in names[i] if name not in known})
    add(
        "unknown_label",
        "error",
        unknown,
        f"{len(unknown)} rows have labels the classifier does not know: "
        + ", ".join(repr(label) for label in unknown_labels[:10]),
    )
    _duplicates(texts, labels, config, add)
    too_long = [i for i, text in enumerate(texts) if len(text) > schema.max_length]
    add(
        "extreme_length",
        "warning",
        too_long,
        f"{len(too_long)} texts are longer than {schema.max_length} characters",
    )

    present = Counter(name for row in names for name in row)
    missing = [label for label in schema.labels if label not in present]
    if missing:
        anomalies.append(
            Anomaly(
                "missing_label",
                config.missing_label_severity,
                len(missing),
                f"{len(missing)} known labels have no rows: {', '.join(missing[:10])}",
                [{"label": label} for label in missing[:EXAMPLES]],
            )
        )
    distance = _js_distance(schema.label_distribution, present)
    if distance > config.max_label_shift:
        anomalies.append(
            Anomaly(
                "label_shift",
                "warning",
                1,
                f"label distribution moved by {distance:.3f} (Jensen-Shannon distance; "
                f"threshold {config.max_label_shift})",
            )
        )
    return anomalies


def _duplicates(texts: list[str], labels: list[str], config: ValidationConfig, add: Any) -> None:
    rows_by_text: dict[str, list[int]] = {}
    for index, text in enumerate(texts):
        if text:
            rows_by_text.setdefault(text, []).append(index)
    conflicting: list[int] = []
    repeated: list[int] = []
    conflict_count = 0
    for indexes in rows_by_text.values():
        if len(indexes) < 2:
            continue
        if len({labels[i] for i in indexes}) > 1:
            conflict_count += 1
            conflicting.extend(indexes)
        else:
            repeated.extend(indexes[1:])
    share = len(conflicting) / max(len(texts), 1)
    # Counted in texts, not rows: a person fixes one text's label at a time.
    add(
        "conflicting_labels",
        "error" if share > config.max_conflict_share else "warning",
        conflicting,
        f"{conflict_count} texts appear with different labels ({len(conflicting)} rows)",
        count=conflict_count,
    )
    add("duplicate_text", "warning", repeated, f"{len(repeated)} rows repeat an earlier text")


def _js_distance(expected: dict[str, float], counts: Counter[str]) -> float:
    total = sum(counts.values())
    if not total or not expected:
        return 0.0
    labels = set(expected) | set(counts)
    p = {label: expected.get(label, 0.0) for label in labels}
    q = {label: counts.get(label, 0) / total for label in labels}
    m = {label: (p[label] + q[label]) / 2 for label in labels}

    def kl(a: dict[str, float]) -> float:
        return sum(a[x] * math.log2(a[x] / m[x]) for x in labels if a[x] > 0)

    return math.sqrt(max(0.0, (kl(p) + kl(q)) / 2))


def has_errors(anomalies: Sequence[Anomaly]) -> bool:
    return any(anomaly.severity == "error" for anomaly in anomalies)
