"""One chunk of input rows in, the same rows with their predictions out.

Every input column is kept as it was; the model's answer follows in ``predicted_label``,
``confidence``, ``model_version`` and the ``top_k`` best ``topN_label``/``topN_score`` pairs
(names no input is likely to use, so that an input's own ``label`` stays beside them), and
``error`` says why a row got no prediction (it could not be read, its text is empty or over the
limit). A multi-label model's answer is ``predicted_labels`` instead (the set joined by ``|``,
empty for none), ``confidence`` in that whole set, and one ``score:<label>`` column per label.
Where a single-label classifier answers out of scope (its setting, on by default), an
``out_of_scope`` column says which rows fit none of the labels; their ``predicted_label`` is
empty and ``top1_label`` the nearest (a model without a detector has no such column).
An input that holds a column the output adds is refused before any work, by the columns of the
classifier's mode (``check_columns``). A row's answer depends only on its chunk, never on which
process scored it: the model is called once per chunk, on the chunk's readable rows in order.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from textloop.data.label_sets import Mode
from textloop.data.row_limits import too_long
from textloop.data.values import NotText, column_strings
from textloop.errors import DataError
from textloop.models.multi_label import is_multi_label
from textloop.models.out_of_scope import detector_of, found_unlike
from textloop.predict.deployment import Deployment
from textloop.predict.outcome import scored
from textloop.predict.predictor import DIRECT, Answers, Predictor

PREDICTED, CONFIDENCE, MODEL_VERSION, ERROR = (
    "predicted_label",
    "confidence",
    "model_version",
    "error",
)
TOP_K = 3
PREDICTED_SET, SCORE_PREFIX = "predicted_labels", "score:"  # a multi-label model's
OUT_OF_SCOPE = "out_of_scope"
NEAREST = "top1_label"  # the best label, even for a row out of scope
LABEL_SEPARATOR = "|"


def added_columns(
    top_k: int, mode: str = Mode.SINGLE_LABEL, labels: Sequence[str] = (), scope: bool = False
) -> list[str]:
    """The columns the output adds to the input's, in order: for a multi-label model (``mode``)
    one score per label of ``labels``, the model's, instead of the ``top_k`` best; with
    ``scope`` (a single-label classifier answering out of scope) ``out_of_scope`` too."""
    if mode == Mode.MULTI_LABEL:
        scores = [SCORE_PREFIX + label for label in labels]
        return [PREDICTED_SET, CONFIDENCE, MODEL_VERSION, *scores, ERROR]
    ranked = [name for n in range(1, top_k + 1) for name in (f"top{n}_label", f"top{n}_score")]
    aside = [OUT_OF_SCOPE] if scope else []
    return [PREDICTED, *aside, CONFIDENCE, MODEL_VERSION, *ranked, ERROR]


def check_columns(
    columns: Sequence[str],
    text_column: str,
    id_column: str | None,
    top_k: int,
    mode: str = Mode.SINGLE_LABEL,
    labels: Sequence[str] = (),
    scope: bool = False,
) -> None:
    """Refuse, before any work, an input the output could not be made from: one without the
    chosen columns, or with one the output adds (``added_columns``)."""
    found = ", ".join(columns) or "none"
    for option, name in (("--text-column", text_column), ("--id-column", id_column)):
        if name is not None and name not in columns:
            raise DataError(
                f"column {name!r} not found (columns found: {found}); choose it with {option}",
                field=option.lstrip("-").replace("-", "_"),
            )
    clash = [name for name in added_columns(top_k, mode, labels, scope) if name in columns]
    if clash:
        raise DataError(
            f"the input already has a column named {clash[0]!r}, which the output adds; rename it"
        )


@dataclass(frozen=True)
class Unsure:
    """A row the model was unsure of, or found unlike what it learned from: a candidate for
    review."""

    confidence: float
    chunk: int
    row: int
    text: str
    label: str  # a multi-label row's: its set in the stored form (``label_sets.encode``)
    unlike: bool = False  # answered out of scope by the detector (``found_unlike``)


@dataclass
class ChunkResult:
    index: int
    table: pa.Table
    rows: int
    errors: int
    unsure: list[Unsure]


@dataclass
class ChunkScorer:
    deployment: Deployment
    model: Any
    text_column: str = "text"
    top_k: int = TOP_K
    review_below: float | None = None
    review_limit: int = 0
    predictor: Predictor = DIRECT

    def score(self, index: int, table: pa.Table, read_errors: list[str | None]) -> ChunkResult:
        texts = _texts(table.column(self.text_column), self.text_column)
        errors = [
            read or _text_problem(text) for read, text in zip(read_errors, texts, strict=True)
        ]
        good = [row for row, error in enumerate(errors) if error is None]
        classes = list(self.model.classes_)
        sets = is_multi_label(self.model)
        # a model without a detector answers as it always did: no column
        scope = self.deployment.out_of_scope and not sets and detector_of(self.model) is not None
        given = (
            self.predictor.answer(self.model, [texts[row] or "" for row in good], scope)
            if good
            else Answers(np.zeros((0, len(classes))), np.zeros(0, bool) if scope else None)
        )
        probabilities, flags = given.probabilities, given.out_of_scope
        if sets:
            out, answered, sure = self._label_sets(table, probabilities, good, errors)
            unsure = self._unsure(index, texts, answered, sure)
            return ChunkResult(index, out, table.num_rows, table.num_rows - len(good), unsure)
        k = min(self.top_k, len(classes))
        ranked = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
        n = table.num_rows
        label: list[str | None] = [None] * n
        confidence: list[float | None] = [None] * n
        top_labels: list[list[str | None]] = [[None] * n for _ in range(self.top_k)]
        top_values: list[list[float | None]] = [[None] * n for _ in range(self.top_k)]
        aside: list[bool | None] = [None] * n
        nearest: list[str | None] = [None] * n  # what review suggests, in scope or not
        for position, row in enumerate(good):
            order = ranked[position]
            if flags is not None:
                aside[row] = bool(flags[position])
            nearest[row] = classes[int(order[0])]
            label[row] = None if aside[row] else nearest[row]
            confidence[row] = float(probabilities[position, order[0]])
            for place in range(k):
                top_labels[place][row] = classes[int(order[place])]
                top_values[place][row] = float(probabilities[position, order[place]])
        columns: dict[str, pa.Array] = {PREDICTED: pa.array(label, pa.string())}
        if scope:
            columns[OUT_OF_SCOPE] = pa.array(aside, pa.bool_())
        columns |= {
            CONFIDENCE: pa.array(confidence, pa.float64()),
            MODEL_VERSION: pa.array([self.deployment.version] * n, pa.int64()),
        }
        for place in range(self.top_k):
            columns[f"top{place + 1}_label"] = pa.array(top_labels[place], pa.string())
            columns[f"top{place + 1}_score"] = pa.array(top_values[place], pa.float64())
        columns[ERROR] = pa.array(errors, pa.string())
        out = table
        for name, values in columns.items():
            out = out.append_column(name, values)
        return ChunkResult(
            index, out, n, n - len(good), self._unsure(index, texts, nearest, confidence, aside)
        )

    def _label_sets(
        self,
        table: pa.Table,
        probabilities: np.ndarray,
        good: list[int],
        errors: list[str | None],
    ) -> tuple[pa.Table, list[str | None], list[float | None]]:
        """A multi-label model's columns: the set, the confidence in it, every label's score;
        and each row's set in its stored form with that confidence, for review."""
        n, classes = table.num_rows, list(self.model.classes_)
        answered: list[str | None] = [None] * n
        stored: list[str | None] = [None] * n
        confidence: list[float | None] = [None] * n
        scores = np.full((n, len(classes)), np.nan)
        for item, row in zip(scored(self.model, probabilities), good, strict=True):
            answered[row] = LABEL_SEPARATOR.join(item.labels or ())
            stored[row], confidence[row] = item.label, item.confidence
        scores[good] = probabilities
        columns: dict[str, pa.Array] = {
            PREDICTED_SET: pa.array(answered, pa.string()),
            CONFIDENCE: pa.array(confidence, pa.float64()),
            MODEL_VERSION: pa.array([self.deployment.version] * n, pa.int64()),
        }
        for column, label in enumerate(classes):
            columns[SCORE_PREFIX + label] = pa.array(
                scores[:, column], pa.float64(), from_pandas=True
            )
        columns[ERROR] = pa.array(errors, pa.string())
        out = table
        for name, values in columns.items():
            out = out.append_column(name, values)
        return out, stored, confidence

    def _unsure(
        self,
        index: int,
        texts: list[str | None],
        label: list[str | None],
        confidence: list[float | None],
        aside: Sequence[bool | None] = (),
    ) -> list[Unsure]:
        if self.review_below is None or self.review_limit <= 0:
            return []
        own = self.deployment.out_of_scope_label
        found = []
        for row, value in enumerate(confidence):
            unlike = found_unlike(bool(aside and aside[row]), label[row], own)
            if value is not None and (unlike or value < self.review_below):
                found.append(Unsure(value, index, row, texts[row] or "", label[row] or "", unlike))
        return least_sure(found, self.review_limit)


def least_sure(found: Sequence[Unsure], limit: int) -> list[Unsure]:
    """The ``limit`` rows most in doubt of all chunks: those out of scope first (a person looks
    at each, as at an out-of-scope answer of the API, whatever its confidence), then the least
    confident (ties: the earlier row)."""
    return heapq.nsmallest(limit, found, key=lambda u: (not u.unlike, u.confidence, u.chunk, u.row))


def _texts(column: pa.ChunkedArray | pa.Array, name: str) -> list[str | None]:
    if isinstance(column, pa.Array):
        column = pa.chunked_array([column])
    try:
        return list(column_strings(column).to_pylist())
    except NotText as exc:
        raise DataError(f"column {name!r} {exc}") from None


def _text_problem(text: str | None) -> str | None:
    if text is None or not text.strip():
        return "empty text"
    return too_long(text, None)
