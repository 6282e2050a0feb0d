"""Classify texts with a textloop model bundle, with nothing but numpy, onnxruntime and tokenizers.

Shared by both places a model predicts: this file (Python 3.10 or newer) is copied to the root of
every bundle ``textloop export`` writes, as ``predict.py``, so a model can run where textloop is not
installed (an edge device, another team's service), and the served model families do their
arithmetic with it. It reads the bundle's ``bundle.json``: a tree of nodes that says how the model
turns a text into probabilities, with the arrays each node needs beside it. Its arithmetic is
textloop's own: the model families import their analyzers, softmax, calibration and pooling from
here (this module imports nothing of textloop, so it runs alone), and ``textloop export`` refuses to
write a bundle whose answers here differ from the model's.

    import predict
    model = predict.load("path/to/bundle")
    model.classify(["my card has not arrived"])
    # [{"label": ..., "confidence": ..., "scores": {label: probability, ...}}]

    python predict.py "my card has not arrived" "what is the exchange rate"
    # one JSON object per text and line

A model that learned an out-of-scope detector (textloop's ``models/out_of_scope.py``) brings it
in the manifest's ``out_of_scope`` section, and every answer then says ``"out_of_scope"``: true
with ``"label": None`` for a text unlike everything the model was trained on (the nearest label
still leads ``scores``), by textloop's own rule (``OutOfScope``). A bundle without that section
answers as it always did, with no such key.

Node kinds: ``ngram`` (TF-IDF over word and character n-grams and a linear layer), ``embedding``
(a sentence encoder in ONNX and a linear head), ``prior`` (fixed probabilities), ``calibrated``
(a temperature over another node), ``ensemble`` (weighted pooling of members), ``cascade``
(a first node answers where it is sure enough, the full node the rest), ``multi-label`` (each
label calibrated and decided at its own threshold) and ``set-cascade`` (the cascade of two
``multi-label`` nodes, sure of a whole label set).
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1
MANIFEST = "bundle.json"
SCOPE = "out_of_scope"  # the manifest's section for the model's out-of-scope detector, if any
AT_ONCE = 1024  # texts compared with the detector's reference embeddings at once (bounded memory)
EPSILON = 1e-12  # the floor of a probability before its logarithm is taken (calibration)
FLOOR = 1e-12  # the same for geometric pooling of an ensemble
TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern
WHITESPACE = re.compile(r"\s\s+")
# Texts per encoder call, of similar token length so little is padding. Measured on two cores
# (AVX2): eight short texts per call encode about 1.6x faster than one, and 16 or 32 slower
# than eight, even unpadded.
BUCKET = 8
# An INT8 export quantizes its activations per call, with one scale over every text of the
# call, so a text's embedding would depend on the texts encoded beside it (by up to 0.036 in a
# coordinate on Banking77): it encodes one text per call, and a version answers a text the
# same wherever and with whatever it is classified. One text per call costs INT8 about 20%.
ONE_AT_A_TIME = {"int8"}


def load(directory: str | Path) -> Bundle:
    """The bundle in ``directory``: read once, then ``classify`` as often as needed."""
    return Bundle(Path(directory))


class Bundle:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            raise ValueError(f"{directory} holds a bundle of format {manifest.get('format')!r}")
        self.manifest = manifest
        self._built: dict[str, Any] = {}  # nodes by id: a shared member is loaded once
        self.root = self._build(manifest["model"])
        self.classes: list[str] = list(self.root.classes)
        section = manifest.get(SCOPE)
        # a multi-label model answers sets, possibly empty, and is never out of scope
        self.detector = (
            OutOfScope(self, section) if section and not isinstance(self.root, MultiLabel) else None
        )

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, columns in ``classes`` order."""
        if not len(texts):
            return np.zeros((0, len(self.classes)))
        return np.asarray(self.root.predict_proba(list(texts)), dtype=np.float64)

    def out_of_scope(
        self, texts: Sequence[str], probabilities: np.ndarray | None = None
    ) -> np.ndarray | None:
        """Which ``texts`` fit none of the labels, from this bundle's ``probabilities`` for them
        (computed when not given); None for a bundle without a detector."""
        if self.detector is None:
            return None
        texts = list(texts)
        if probabilities is None:
            probabilities = self.predict_proba(texts)
        return self.detector.flags(texts, np.asarray(probabilities, dtype=np.float64))

    def classify(self, texts: Sequence[str], scope: bool = True) -> list[dict[str, Any]]:
        """Per text, the label with its confidence, or for a multi-label model the labels
        reaching their thresholds (possibly none) with the confidence in that whole set; and
        every label's score. Where the bundle has a detector, each answer also says whether
        the text is out of scope (``label`` None then, the nearest label first in ``scores``),
        unless ``scope`` is False: then every answer is the nearest label, with no such key, as
        a classifier whose out-of-scope setting is off answers."""
        texts = list(texts)
        probabilities = self.predict_proba(texts)
        if isinstance(self.root, MultiLabel):
            return self.root.answers(probabilities)
        flags = self.out_of_scope(texts, probabilities) if scope else None
        answers = []
        for number, row in enumerate(probabilities):
            best = int(np.argmax(row))
            answer: dict[str, Any] = {"label": self.classes[best]}
            if flags is not None:
                aside = bool(flags[number])
                answer = {"label": None if aside else self.classes[best], "out_of_scope": aside}
            answer["confidence"] = float(row[best])
            answer["scores"] = {label: float(p) for label, p in zip(self.classes, row, strict=True)}
            answers.append(answer)
        return answers

    def _build(self, node: dict[str, Any]) -> Any:
        if "ref" in node:
            return self._built[node["ref"]]
        kind = node["kind"]
        if kind not in KINDS:
            raise ValueError(f"unknown node kind {kind!r} in {self.directory / MANIFEST}")
        built = KINDS[kind](self, node)
        if "id" in node:
            self._built[node["id"]] = built
        return built

    def path(self, relative: str) -> Path:
        return self.directory / relative


SOFTMAX, SIGMOID = "softmax", "sigmoid"  # one label of many; each label on its own (multi-label)


def activate(scores: np.ndarray, activation: str = SOFTMAX) -> np.ndarray:
    """Decision values as probabilities, in place: a softmax across classes, or each column's
    logistic for a multi-label head, whose labels are decided one by one."""
    if activation == SIGMOID:
        return sigmoid(scores)
    return softmax(scores)


def sigmoid(scores: np.ndarray) -> np.ndarray:
    np.negative(scores, out=scores)
    np.exp(scores, out=scores)
    scores += 1.0
    np.reciprocal(scores, out=scores)
    return scores


def softmax(scores: np.ndarray) -> np.ndarray:
    """Decision values (one column for a binary model) as probabilities, in place."""
    if scores.shape[1] == 1:
        positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
        return np.column_stack([1.0 - positive, positive])
    scores -= scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    return scores


class Linear:
    """A logistic regression's arrays: ``coef`` (classes by features) and ``intercept``."""

    def __init__(self, arrays: Any) -> None:
        self.coef = np.asarray(arrays["coef"], dtype=np.float64)
        self.intercept = np.asarray(arrays["intercept"], dtype=np.float64)
        self.classes = [str(label) for label in arrays["classes"]]
        self.activation = str(arrays["activation"]) if "activation" in arrays else SOFTMAX

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        scores = np.asarray(features, dtype=np.float64) @ self.coef.T + self.intercept
        return activate(scores, self.activation)


def word_ngrams(text: str, low: int, high: int) -> list[str]:
    tokens = TOKEN.findall(text.lower())
    grams = list(tokens) if low == 1 else []
    for n in range(max(low, 2), min(high, len(tokens)) + 1):
        grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return grams


def char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    grams: list[str] = []
    for word in WHITESPACE.sub(" ", text.lower()).split():
        padded = f" {word} "
        for n in range(low, high + 1):
            last = max(len(padded) - n, 0)
            grams.extend(padded[i : i + n] for i in range(last + 1))
            if last == 0:
                break
    return grams


class Ngram:
    """Sublinear TF-IDF, L2-normalised per vectorizer, then the linear layer."""

    def __init__(self, bundle: Bundle, node: dict[str, Any]) -> None:
        arrays = np.load(bundle.path(node["arrays"]), allow_pickle=False)
        self.linear = Linear(arrays)
        self.classes = self.linear.classes
        self.blocks: list[tuple[Callable[[str], list[str]], dict[str, int], np.ndarray, int]] = []
        for number, analyzer in enumerate(arrays["analyzers"]):
            low, high, offset = (int(v) for v in arrays[f"shape{number}"])
            blob, ends = arrays[f"terms{number}"].tobytes(), arrays[f"ends{number}"].tolist()
            starts = [0, *ends[:-1]]
            vocabulary = {
                blob[a:b].decode("utf-8"): i
                for i, (a, b) in enumerate(zip(starts, ends, strict=True))
            }
            split = word_ngrams if str(analyzer) == "word" else char_wb_ngrams
            self.blocks.append(
                (_bound(split, low, high), vocabulary, arrays[f"idf{number}"], offset)
            )
        self._coef = self.linear.coef.T

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        scores = np.empty((len(texts), self._coef.shape[1]))
        for row, text in enumerate(texts):
            total = self.linear.intercept.copy()
            for analyze, vocabulary, idf, offset in self.blocks:
                counts: dict[int, int] = {}
                for gram in analyze(text):
                    column = vocabulary.get(gram)
                    if column is not None:
                        counts[column] = counts.get(column, 0) + 1
                if not counts:
                    continue
                columns = np.fromiter(counts, dtype=np.intp, count=len(counts))
                tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
                weights = (1.0 + np.log(tf)) * idf[columns]
                weights /= math.sqrt(float(weights @ weights))
                total += weights @ self._coef[columns + offset]
            scores[row] = total
        return activate(scores, self.linear.activation)


def _bound(split: Callable[[str, int, int], list[str]], low: int, high: int) -> Any:
    return lambda text: split(text, low, high)


class Encoder:
    """A sentence encoder exported to ONNX (pooling and normalisation inside the graph)."""

    def __init__(self, directory: Path) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        manifest = json.loads((directory / "encoder.json").read_text(encoding="utf-8"))
        self.dimension = int(manifest["dimension"])
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(manifest["max_length"]))
        self.tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(directory / manifest["files"]["int8"]), options, providers=["CPUExecutionProvider"]
        )
        # set by an out-of-scope detector: the last call's texts (their rows) and embeddings
        self.keep_last = False
        self._last: tuple[dict[str, int], np.ndarray] = ({}, np.zeros((0, self.dimension)))

    def encode(self, texts: list[str]) -> np.ndarray:
        """Where a detector reads the embeddings a model's answer was made from
        (``keep_last``), the last call's are kept and given again for the same texts, rather
        than encoded twice: INT8 encodes one text per call, so a text's embedding is the same
        whichever call makes it."""
        rows, last = self._last
        if self.keep_last and all(text in rows for text in texts):
            return last[[rows[text] for text in texts]]
        embedded = embed(self.session, self.tokenizer, texts, self.dimension, bucket_for("int8"))
        if self.keep_last:
            self._last = ({text: row for row, text in enumerate(texts)}, embedded)
        return embedded


def bucket_for(precision: str) -> int:
    """Texts per encoder call for an export of ``precision``."""
    return 1 if precision in ONE_AT_A_TIME else BUCKET


def embed(
    session: Any,
    tokenizer: Any,
    texts: Sequence[str],
    dimension: int,
    bucket: int = BUCKET,
    workers: int = 1,
) -> np.ndarray:
    """Embeddings of ``texts`` from an ONNX encoder ``session``, in calls of ``bucket`` texts
    sorted by token length, so that short texts are not padded to the length of long ones.
    ``workers`` threads make calls at once (ONNX Runtime runs them in parallel): how one-text
    calls use several cores, each call on one."""
    encoded = [item.ids for item in tokenizer.encode_batch(list(texts))]
    order = sorted(range(len(encoded)), key=lambda row: len(encoded[row]))
    result = np.zeros((len(encoded), dimension), dtype=np.float32)

    def call(start: int) -> None:
        rows = order[start : start + bucket]
        width = max(len(encoded[row]) for row in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for place, row in enumerate(rows):
            ids[place, : len(encoded[row])] = encoded[row]
            mask[place, : len(encoded[row])] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        result[rows] = session.run(None, feeds)[0]

    starts = range(0, len(order), bucket)
    if workers > 1 and len(starts) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(call, starts))
    else:
        for start in starts:
            call(start)
    return result


class Embedding:
    def __init__(self, bundle: Bundle, node: dict[str, Any]) -> None:
        key = f"encoder:{node['encoder']}"
        if key not in bundle._built:  # members that share an encoder share its session
            bundle._built[key] = Encoder(bundle.path(node["encoder"]))
        self.encoder = bundle._built[key]
        self.linear = Linear(np.load(bundle.path(node["head"]), allow_pickle=False))
        self.classes = self.linear.classes

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return self.linear.predict_proba(self.encoder.encode(texts))


class Prior:
    def __init__(self, bundle: Bundle, node: dict[str, Any]) -> None:
        self.classes = list(node["classes"])
        self.priors = np.asarray(node["priors"], dtype=np.float64)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.tile(self.priors, (len(texts), 1))


class Calibrated:
    def __init__(self, bundle: Bundle, node: dict[str, Any]) -> None:
        self.model = bundle._build(node["model"])
        self.temperature = float(node["temperature"])
        self.classes = self.model.classes

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return rescale(self.model.predict_proba(texts), self.temperature)


def rescale(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities sharpened or flattened by a temperature (calibration)."""
    logits = np.log(np.clip(probabilities, EPSILON, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return np.asarray(exp / exp.sum(axis=1, keepdims=True))


def align(probabilities: np.ndarray, classes: Sequence[str], into: Sequence[str]) -> np.ndarray:
    """Columns in ``into`` order; a class the member lacks gets probability zero."""
    aligned = np.zeros((len(probabilities), len(into)))
    aligned[:, [list(into).index(label) for label in classes]] = probabilities
    return aligned


class Ensemble:
    def __init__(self, bundle: Bundle, node: dict[str, Any]) -> None:
        self.members = [bundle._build(member) for member in node["members"]]
        self.weights = [float(w) for w in node["weights"]]
        self.pooling = node["pooling"]
        self.classes = list(node["classes"])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        aligned = [align(m.predict_proba(texts), m.classes, self.classes) for m in self.members]
        return pool(aligned, self.weights, self.pooling)


def pool(aligned: Sequence[np.ndarray], weights: Sequence[float], pooling: str) -> np.ndarray:
    """Members' aligned probabilities combined; ``weights`` sum to one. ``logit`` pools the
    independent per-label probabilities of multi-label members: a weighted mean of log-odds,
    each label on its own (the others renormalise across labels, as one class of many)."""
    if pooling == "logit":
        clipped = [np.clip(p, FLOOR, 1.0 - FLOOR) for p in aligned]
        logits = np.sum(
            [w * np.log(p / (1.0 - p)) for w, p in zip(weights, clipped, strict=True)], axis=0
        )
        return np.asarray(1.0 / (1.0 + np.exp(-logits)))
    if pooling == "arithmetic":
        total = np.sum([w * p for w, p in zip(weights, aligned, strict=True)], axis=0)
        return np.asarray(total / total.sum(axis=1, keepdims=True))
    logs = np.sum(
        [w * np.log(np.clip(p, FLOOR, 1.0)) for w, p in zip(weights, aligned, strict=True)], axis=0
    )
    logs = logs - logs.max(axis=1, keepdims=True)
    exp = np.exp(logs)
    return np.asarray(exp / exp.sum(axis=1, keepdims=True))


class Cascade:
    def __init__(self, bundle: Bundle, node: dict[str, Any]) -> None:
        self.first = bundle._build(node["first"])
        self.full = bundle._build(node["full"])
        self.threshold = float(node["threshold"])
        self.classes = list(node["classes"])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        answers = align(self.first.predict_proba(texts), self.first.classes, self.classes)
        rest = np.flatnonzero(answers.max(axis=1) < self.threshold)
        if len(rest):
            answers[rest] = align(
                self.full.predict_proba([texts[int(i)] for i in rest]),
                self.full.classes,
                self.classes,
            )
        return answers


def platt(probabilities: np.ndarray, scale: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Each column's log-odds scaled and shifted, back to probabilities (a multi-label model's
    calibration, one label at a time)."""
    clipped = np.clip(probabilities, EPSILON, 1.0 - EPSILON)
    logits = np.log(clipped / (1.0 - clipped)) * scale + shift
    return np.asarray(1.0 / (1.0 + np.exp(-logits)))


def set_confidence(probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The confidence in each row's answered set: the product of ``p`` over the labels answered
    and ``1 - p`` over those left out; the probability that the set is exactly right, if the
    labels' probabilities are calibrated and independent given the text."""
    kept = np.where(probabilities >= thresholds, probabilities, 1.0 - probabilities)
    return np.asarray(np.prod(kept, axis=1))


class MultiLabel:
    """Per-label calibration and decision thresholds over a model of label sets."""

    def __init__(self, bundle: Bundle, node: dict[str, Any]) -> None:
        self.model = bundle._build(node["model"])
        self.classes = list(node["classes"])
        self.scale, self.shift, self.thresholds = (
            np.asarray(node[key], dtype=np.float64) for key in ("scale", "shift", "thresholds")
        )

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        raw = align(self.model.predict_proba(texts), self.model.classes, self.classes)
        return platt(raw, self.scale, self.shift)

    def answers(self, probabilities: np.ndarray) -> list[dict[str, Any]]:
        confidence = set_confidence(probabilities, self.thresholds)
        return [
            {
                "labels": [
                    c for c, p, t in zip(self.classes, row, self.thresholds, strict=True) if p >= t
                ],
                "confidence": float(sure),
                "scores": {label: float(p) for label, p in zip(self.classes, row, strict=True)},
            }
            for row, sure in zip(probabilities, confidence, strict=True)
        ]


class SetCascade(MultiLabel):
    """Two ``multi-label`` nodes: the first answers the texts whose whole set it is sure enough
    of, the full node the rest; answered at the full node's thresholds."""

    def __init__(self, bundle: Bundle, node: dict[str, Any]) -> None:
        self.first = bundle._build(node["first"])
        self.full = bundle._build(node["full"])
        self.threshold = float(node["threshold"])
        self.classes = list(node["classes"])
        self.thresholds = self.full.thresholds

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        answers, sure = early_answers(
            self.first.predict_proba(texts), self.first.thresholds, self.thresholds, self.threshold
        )
        rest = np.flatnonzero(~sure)
        if len(rest):
            answers[rest] = self.full.predict_proba([texts[int(i)] for i in rest])
        return answers


def early_answers(
    first: np.ndarray, first_thresholds: np.ndarray, thresholds: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """A set cascade's first stage: which texts it answers (its confidence in their whole set
    reaches ``threshold``), and its probabilities carried onto the full stage's ``thresholds``
    (``carried``), so that they decide the same set there."""
    sure = set_confidence(first, first_thresholds) >= threshold
    return carried(first, first_thresholds, thresholds), np.asarray(sure)


def carried(probabilities: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Each column as it is, but for a probability between its label's ``source`` and
    ``target`` thresholds, which is moved just across ``target`` to the side ``source`` decided
    it on: a probability reaching ``source`` reaches ``target`` after, and only then. The
    fewest probabilities move, each by the least, so the first stage's calibration (and the
    confidence in its set) stands wherever the two thresholds agree on a label."""
    source, target = np.asarray(source, dtype=np.float64), np.asarray(target, dtype=np.float64)
    yes = probabilities >= source
    raised = np.maximum(probabilities, target)  # a "yes" below ``target``: up to it
    lowered = np.minimum(probabilities, np.nextafter(target, 0.0))  # a "no" at or above: under
    return np.asarray(np.where(yes, raised, lowered))


class OutOfScope:
    """The model's out-of-scope detector, by textloop's own rule (``OutOfScopeDetector``): a
    text's in-scope score is the sum of two signs, each standardised (``centre``, ``spread``)
    on validation texts: its best probability, and the cosine of its embedding (by the model's
    own encoder, the ``embedding`` node named) to the nearest of the training texts'
    ``reference`` embeddings. Below ``threshold`` it is out of scope. Without an encoder only
    the probability counts (the cosine sign is 0 throughout). Behind a cascade, a text the
    first stage answered is in scope without being encoded: that stage was sure enough to
    answer it, and encoding it only to ask would undo the cascade. Where the training data had
    out-of-scope examples under a ``label`` of their own, a text answered with that label is
    out of scope too, whatever its score."""

    def __init__(self, bundle: Bundle, section: dict[str, Any]) -> None:
        self.reference = np.load(bundle.path(section["reference"]), allow_pickle=False)
        self.centre = np.asarray(section["centre"], dtype=np.float64)
        self.spread = np.asarray(section["spread"], dtype=np.float64)
        threshold = section["threshold"]  # None: nothing was chosen on, every text in scope
        self.threshold = -math.inf if threshold is None else float(threshold)
        label = section.get("label")
        self.label = None if label is None else str(label)
        self.classes = bundle.classes
        self.encoder: Encoder | None = None
        if len(self.reference):
            node = bundle._built.get(str(section.get("embedding")))
            if not isinstance(node, Embedding):
                raise ValueError(
                    f"the out-of-scope section of {bundle.directory / MANIFEST} names no "
                    "embedding node of the model to encode texts with"
                )
            self.encoder = node.encoder
            self.encoder.keep_last = True
        self.cascade = bundle.root if isinstance(bundle.root, Cascade) else None

    def flags(self, texts: list[str], probabilities: np.ndarray) -> np.ndarray:
        flags = self.answered_with_label(probabilities)
        if self.threshold == -math.inf:
            return flags
        rows = np.flatnonzero(~self.answered_early(texts))
        if len(rows):
            asked = [texts[int(row)] for row in rows]
            flags[rows] |= self.scores(asked, probabilities[rows]) < self.threshold
        return flags

    def answered_with_label(self, probabilities: np.ndarray) -> np.ndarray:
        """The texts whose best label is the out-of-scope examples' own."""
        if self.label is None or self.label not in self.classes or not len(probabilities):
            return np.zeros(len(probabilities), dtype=bool)
        return np.asarray(probabilities.argmax(axis=1) == self.classes.index(self.label))

    def scores(self, texts: list[str], probabilities: np.ndarray) -> np.ndarray:
        """Each text's in-scope score, higher for more like the training texts."""
        embedded = None
        if self.encoder is not None and len(texts):
            embedded = np.asarray(self.encoder.encode(texts), dtype=np.float32)
        signs = scope_signs(probabilities, embedded, self.reference)
        return np.asarray(((signs - self.centre) / self.spread).sum(axis=1))

    def answered_early(self, texts: list[str]) -> np.ndarray:
        """The texts the root cascade's first stage answers (asked again: it is the cheap
        stage); none where the root is no cascade."""
        if self.cascade is None or not texts:
            return np.zeros(len(texts), dtype=bool)
        first = self.cascade.first
        answers = align(first.predict_proba(texts), first.classes, self.cascade.classes)
        return np.asarray(answers.max(axis=1) >= self.cascade.threshold)


def scope_signs(
    probabilities: np.ndarray, embedded: np.ndarray | None, reference: np.ndarray
) -> np.ndarray:
    """The two signs of being in scope, per text: the best probability, and the cosine of the
    text's embedding to the nearest ``reference`` (unit) embedding, 0 without an encoder.
    textloop's detector computes its signs here too, so the bundle's cannot drift from it."""
    count = len(probabilities)
    best = probabilities.max(axis=1) if probabilities.shape[1] else np.zeros(count)
    nearest = np.zeros(count)
    if embedded is not None and len(reference) and count:
        embedded = unit(embedded)
        for start in range(0, count, AT_ONCE):  # a bounded similarity matrix
            part = embedded[start : start + AT_ONCE] @ reference.T
            nearest[start : start + AT_ONCE] = part.max(axis=1)
    return np.column_stack([best, nearest])


def unit(rows: np.ndarray) -> np.ndarray:
    """Each row scaled to length one (a row of zeros stays zeros)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.asarray(rows / np.maximum(norms, 1e-12))


KINDS: dict[str, Callable[[Bundle, dict[str, Any]], Any]] = {
    "multi-label": MultiLabel,
    "set-cascade": SetCascade,
    "ngram": Ngram,
    "embedding": Embedding,
    "prior": Prior,
    "calibrated": Calibrated,
    "ensemble": Ensemble,
    "cascade": Cascade,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python predict.py TEXT [TEXT...]  (one JSON object per text and line)")
        return 0 if argv else 2
    bundle = load(Path(__file__).resolve().parent)
    for text, answer in zip(argv, bundle.classify(argv), strict=True):
        print(json.dumps({"text": text, **answer}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
