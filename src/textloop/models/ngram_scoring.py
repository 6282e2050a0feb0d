"""The fitted n-gram pipeline's arithmetic on plain arrays: what serving needs, no scikit-learn.

``Pipeline.predict_proba`` on one short text spends about 2 ms checking and converting its inputs
and under 0.1 ms computing, and importing scikit-learn (with SciPy) adds about 160 MB to a
server. Served one text at a time, as the first stage of a cascade, both would be most of what a
request costs. ``NgramScorer`` holds each fitted vectorizer's vocabulary and IDF weights and the
logistic regression's coefficients (``LinearHead``), splits texts into the same word and
character n-grams as scikit-learn's analyzers (``word_ngrams``, ``char_wb_ngrams``; a test holds
them to scikit-learn's), and computes the same sums: sublinear TF times IDF, each block
L2-normalised, the linear scores and their softmax.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from textloop.models.arrays import save_arrays
from textloop.models.linear_head import LinearHead
from textloop.models.shared_predict import char_wb_ngrams, word_ngrams

ANALYZERS = ("word", "char_wb")


@dataclass(frozen=True)
class Block:
    """One vectorizer's share of the features: its analyzer, vocabulary and IDF weights, and
    where its columns start in the union."""

    analyzer: str
    ngram_range: tuple[int, int]
    vocabulary: dict[str, int]
    idf: np.ndarray
    offset: int

    def analyze(self) -> Callable[[str], list[str]]:
        split = word_ngrams if self.analyzer == "word" else char_wb_ngrams
        low, high = self.ngram_range
        return lambda text: split(text, low, high)


class NgramScorer:
    def __init__(self, blocks: Sequence[Block], head: LinearHead) -> None:
        self.blocks = list(blocks)
        self.head = head
        self._analyzers = [block.analyze() for block in self.blocks]
        self._coef = head.coef_.T  # features by classes: a view, no copy

    @classmethod
    def of(cls, pipeline: Any) -> NgramScorer:
        """From a fitted ``Pipeline(features=FeatureUnion(TF-IDF...), linear=...)``."""
        steps = pipeline.named_steps
        return cls.of_parts(steps["features"], LinearHead.of(steps["linear"]))

    @classmethod
    def of_parts(cls, features: Any, head: LinearHead) -> NgramScorer:
        """From a fitted ``FeatureUnion`` of TF-IDF vectorizers and the head over its columns
        (a multi-label model's, which is no scikit-learn estimator)."""
        blocks, offset = [], 0
        for _, vectorizer in features.transformer_list:
            supported = (
                vectorizer.analyzer in ANALYZERS
                and vectorizer.norm == "l2"
                and vectorizer.use_idf
                and vectorizer.sublinear_tf
                and vectorizer.lowercase
                and vectorizer.preprocessor is None
                and vectorizer.tokenizer is None
                and vectorizer.strip_accents is None
                and vectorizer.stop_words is None
            )
            if not supported:
                raise ValueError(f"NgramScorer cannot reproduce {vectorizer!r}")
            blocks.append(
                Block(
                    vectorizer.analyzer,
                    tuple(vectorizer.ngram_range),
                    {str(k): int(v) for k, v in vectorizer.vocabulary_.items()},
                    np.asarray(vectorizer.idf_, dtype=np.float64),
                    offset,
                )
            )
            offset += len(vectorizer.vocabulary_)
        return cls(blocks, head)

    def save(self, path: Path) -> None:
        save_arrays(path, self.arrays())

    def arrays(self) -> dict[str, np.ndarray]:
        """Every block's terms, IDF weights and shape, and the head: all that scores a text."""
        arrays: dict[str, np.ndarray] = {}
        for number, block in enumerate(self.blocks):
            terms = sorted(block.vocabulary, key=block.vocabulary.__getitem__)
            arrays[f"terms{number}"], arrays[f"ends{number}"] = _packed(terms)
            arrays[f"idf{number}"] = block.idf
            arrays[f"shape{number}"] = np.asarray([*block.ngram_range, block.offset])
        arrays["analyzers"] = np.asarray([block.analyzer for block in self.blocks], dtype=str)
        arrays.update(self.head.arrays())
        return arrays

    @classmethod
    def load(cls, path: Path) -> NgramScorer:
        arrays = np.load(path, allow_pickle=False)
        blocks = []
        for number, analyzer in enumerate(arrays["analyzers"]):
            low, high, offset = (int(v) for v in arrays[f"shape{number}"])
            terms = _unpacked(arrays[f"terms{number}"], arrays[f"ends{number}"])
            vocabulary = {term: column for column, term in enumerate(terms)}
            blocks.append(
                Block(str(analyzer), (low, high), vocabulary, arrays[f"idf{number}"], offset)
            )
        return cls(blocks, LinearHead.from_arrays(arrays))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        scores = np.empty((len(texts), self._coef.shape[1]))
        for row, text in enumerate(texts):
            scores[row] = self._scores(text)
        return self.head.probabilities(scores)

    def _scores(self, text: str) -> np.ndarray:
        total = self.head.intercept_.astype(np.float64, copy=True)
        for block, analyze in zip(self.blocks, self._analyzers, strict=True):
            counts: dict[int, int] = {}
            for gram in analyze(text):
                column = block.vocabulary.get(gram)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            if not counts:
                continue
            columns = np.fromiter(counts, dtype=np.intp, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            weights = (1.0 + np.log(tf)) * block.idf[columns]
            weights /= math.sqrt(float(weights @ weights))
            total += weights @ self._coef[columns + block.offset]
        return total


def _packed(terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Terms as their UTF-8 bytes end to end, and where each ends: a fixed-width string array
    would take the longest term's width for every term."""
    encoded = [term.encode("utf-8") for term in terms]
    ends = np.cumsum([len(item) for item in encoded], dtype=np.int64)
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), ends


def _unpacked(data: np.ndarray, ends: np.ndarray) -> list[str]:
    blob = data.tobytes()
    starts = [0, *ends[:-1].tolist()]
    return [blob[a:b].decode("utf-8") for a, b in zip(starts, ends.tolist(), strict=True)]
