"""``discover``: the labels a classifier is missing, found as clusters of the texts it doubted.

The candidates are a window of recent production answers (the newest ``limit`` made in the last
``since``) that were out of scope or less sure than the classifier's review threshold, each
distinct text once (its newest prediction). Texts already dealt with are left out: those whose
review settled them on a label, and those a task already suggests a label the production model
does not know (one added since: from a cluster, or proposed by a reviewer). The rest are embedded
by the production model's own encoder (the vectors its answers came from), or, for a model
without one (``ngram``), by the default sentence encoder, and clustered (``clustering``).

Each cluster carries its size, the texts nearest its centre, its keywords, the label the model
gave most of its texts, and its predictions' ids: what an admin needs to name a label and add it
(``discovered_labels``). The same candidates cluster the same way, so a cluster is named by its
number (largest first) and by a key, a hash of its predictions, that says whether a later run
found the very same cluster. Reading happens in one short transaction; the model runs after it
has ended, as everywhere (``predict``).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from sqlalchemy import or_, select

from textloop.errors import InvalidRequest, NotFound
from textloop.models.encoders import DEFAULT_ENCODER
from textloop.models.out_of_scope import encoder_model
from textloop.predict.deployment import production_model
from textloop.predict.model_cache import ModelCache
from textloop.registry.aliases import STAGING
from textloop.review.clustering import (
    MIN_CLUSTER_SIZE,
    NOISE,
    cluster_labels,
    keywords,
    nearest_to_centre,
    suggested_name,
)
from textloop.review.discovered_labels import dealt_with, tasks_of_texts
from textloop.store.database import Store
from textloop.store.queries import get_classifier
from textloop.store.stored_labels import decode
from textloop.store.tables import Prediction, utcnow

DEFAULT_SINCE = timedelta(days=30)
DEFAULT_LIMIT = 2000  # predictions: enough for a cluster of every missing label, seconds to embed
MAX_LIMIT = 10_000  # clustering time grows with the square of the texts: 10,000 took 96 s
REPRESENTATIVES = 3
KEY_LENGTH = 8
DURATION = re.compile(r"(\d{1,6})\s*([mhdw])")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

Advance = Callable[[int], None]  # told how many more texts were embedded


def parse_since(text: str) -> timedelta:
    """``30m``, ``12h``, ``7d`` or ``2w``: how far back the window reaches."""
    found = DURATION.fullmatch(text.strip().lower())
    if found is None or int(found.group(1)) == 0:
        raise InvalidRequest(
            f"since must be a duration such as 30m, 12h, 7d or 2w, not {text!r}", field="since"
        )
    return timedelta(**{UNITS[found.group(2)]: int(found.group(1))})


# Answers less sure than this are candidates, beside those out of scope: more than the review
# threshold sends to people, because a missing label's texts are often answered with middling
# confidence by a neighbouring label. On Banking77 with ten intents held out it finds 9 of them
# where the review threshold (0.5) finds 7 (docs/benchmarks.md).
UNSURE = 0.7


@dataclass(frozen=True)
class Window:
    """Which predictions are looked at: the newest ``limit`` made within ``since`` of now, out
    of scope or less sure than ``below`` (None: ``UNSURE``, or the classifier's review threshold
    where that is higher)."""

    since: timedelta | None = DEFAULT_SINCE  # None: however old
    limit: int = DEFAULT_LIMIT
    below: float | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidRequest(
                f"limit must be between 1 and {MAX_LIMIT:,}, not {self.limit}", field="limit"
            )
        if self.below is not None and not 0 < self.below <= 1:
            raise InvalidRequest(
                f"below must be above 0 and at most 1, not {self.below}", field="below"
            )

    def cutoff(self, review_threshold: float) -> float:
        """The confidence below which an answer is a candidate."""
        return max(UNSURE, review_threshold) if self.below is None else self.below


@dataclass(frozen=True)
class Candidate:
    """A distinct text the model doubted, by its newest prediction."""

    prediction_id: str
    text: str
    label: str  # what the model answered (the nearest label, when out of scope)
    confidence: float
    out_of_scope: bool


@dataclass(frozen=True)
class Candidates:
    classifier: str
    labels: list[str]  # the classifier's labels now (the model's, and any added since)
    version_id: int  # the production model's
    version: int
    artifact_uri: str
    window: Window
    predictions: int  # doubted predictions in the window, repeats of a text included
    dealt_with: int  # distinct texts left out: settled, or already suggested a new label
    texts: list[Candidate]
    cutoff: float = UNSURE  # answers less sure than this were candidates


@dataclass(frozen=True)
class Cluster:
    number: int  # 1 for the largest
    key: str  # a hash of its texts: the same key is the same cluster
    keywords: list[str]
    suggested_name: str
    texts: list[str]  # nearest the centre first
    prediction_ids: list[str]  # one per text, in the order of ``texts``
    model_label: str  # the label (a set's names) the model gave most of its texts
    model_label_share: float
    out_of_scope: int  # texts answered "out of scope"

    @property
    def size(self) -> int:
        return len(self.texts)

    @property
    def representatives(self) -> list[str]:
        return self.texts[:REPRESENTATIVES]

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "key": self.key,
            "size": self.size,
            "keywords": self.keywords,
            "suggested_name": self.suggested_name,
            "representatives": self.representatives,
            "model_label": self.model_label,
            "model_label_share": round(self.model_label_share, 4),
            "out_of_scope": self.out_of_scope,
            "texts": self.texts,
            "prediction_ids": self.prediction_ids,
        }


@dataclass(frozen=True)
class Discovery:
    candidates: Candidates
    encoder: str | None  # the encoder that embedded the texts; None: there were none
    model_encoder: bool  # whether it is the production model's own
    clusters: list[Cluster]
    unclustered: int  # texts in no cluster

    def cluster(self, which: str, by_key: bool = False) -> Cluster:
        """The cluster numbered ``which`` (``3``), or keyed so (``a1b2c3d4``); only by its key
        where ``by_key`` (adding a label: a number names whichever cluster is that large now, and
        the window moves with every new prediction)."""
        which = which.strip().lower()
        if by_key and which.isdigit() and len(which) < KEY_LENGTH:  # a key may be all digits
            raise InvalidRequest(
                f"name the cluster by its key, not its number {which}, when adding a label: "
                "numbers follow the clusters' sizes, which new predictions change; discover "
                "shows each cluster's key beside its number",
                field="cluster",
            )
        for cluster in self.clusters:
            if which in (str(cluster.number), cluster.key):
                return cluster
        if which.isdigit():
            raise NotFound(
                f"there is no cluster {which}: discover found {len(self.clusters)} "
                f"(numbered 1 to {len(self.clusters)})"
                if self.clusters
                else f"there is no cluster {which}: discover found none"
            )
        raise NotFound(
            f"no cluster has key {which!r} now: the predictions changed since it was shown; "
            "run discover again and choose from what it shows"
        )

    def as_dict(self) -> dict[str, Any]:
        found = self.candidates
        return {
            "classifier": found.classifier,
            "model_version": found.version,
            "encoder": self.encoder,
            "model_encoder": self.model_encoder,
            "window": {
                "since_seconds": (
                    None if found.window.since is None else found.window.since.total_seconds()
                ),
                "limit": found.window.limit,
            },
            "predictions": found.predictions,
            "texts": len(found.texts),
            "dealt_with": found.dealt_with,
            "unclustered": self.unclustered,
            "clusters": [cluster.as_dict() for cluster in self.clusters],
        }


def read_candidates(store: Store, name: str, window: Window = Window()) -> Candidates:
    """The window's doubted predictions of ``name``, one per distinct text not dealt with, in
    one short transaction."""
    with store.session() as session:
        classifier = get_classifier(session, name)
        version = production_model(session, classifier)  # NotFound, naming `textloop deploy`
        doubted = or_(
            Prediction.out_of_scope.is_(True),
            Prediction.confidence < window.cutoff(classifier.threshold),
        )
        query = (
            select(
                Prediction.id,
                Prediction.text,
                Prediction.label,
                Prediction.confidence,
                Prediction.out_of_scope,
            )
            .where(
                Prediction.classifier_id == classifier.id,
                doubted,
                Prediction.alias.is_distinct_from(STAGING),  # a release on trial: not its doubts
            )
            .order_by(Prediction.created_at.desc(), Prediction.id.desc())
            .limit(window.limit)
        )
        if window.since is not None:
            query = query.where(Prediction.created_at >= utcnow() - window.since)
        rows = session.execute(query).all()
        newest: dict[str, Candidate] = {}
        for prediction_id, text, label, confidence, out_of_scope in rows:
            if text not in newest:  # newest first: the first seen is the newest
                newest[text] = Candidate(prediction_id, text, label, confidence, out_of_scope)
        known = set(version.labels)
        done = {
            task.text
            for task in tasks_of_texts(session, classifier.id, list(newest))
            if dealt_with(task, known)
        }
        return Candidates(
            classifier=classifier.name,
            labels=list(classifier.labels),
            version_id=version.id,
            version=version.version,
            artifact_uri=version.artifact_uri,
            window=window,
            predictions=len(rows),
            dealt_with=len(done),
            texts=[candidate for text, candidate in newest.items() if text not in done],
            cutoff=window.cutoff(classifier.threshold),
        )


def discover(store: Store, models: ModelCache, name: str, window: Window = Window()) -> Discovery:
    """Read, embed and cluster ``name``'s doubted texts (``read_candidates``, ``clusters_of``)."""
    return clusters_of(read_candidates(store, name, window), models)


def clusters_of(
    candidates: Candidates,
    models: ModelCache,
    advance: Advance | None = None,
    min_size: int = MIN_CLUSTER_SIZE,
    torch: bool = True,
) -> Discovery:
    """Embed ``candidates``' texts and cluster them; ``advance`` hears of each chunk embedded.
    Without ``torch`` (a server), a model with no encoder of its own whose default encoder has
    no ONNX export here is refused rather than PyTorch loaded into the process."""
    texts = [candidate.text for candidate in candidates.texts]
    if not texts:  # nothing to discover: no model to load
        return Discovery(candidates, None, False, [], 0)
    model = models.get(candidates.version_id, candidates.artifact_uri)
    pool = models.resources.encoder_pool()
    if not torch and encoder_model(model) is None and not pool.runs_without_torch():
        raise InvalidRequest(
            f"{candidates.classifier!r} has no encoder of its own, and the default encoder "
            f"({DEFAULT_ENCODER}) has no ONNX export here for the server to embed with: "
            f"run `textloop discover {candidates.classifier}` on the command line",
            field="classifier",
        )
    vectors, encoder, own = embed(model, models.resources, texts, advance)
    numbers = cluster_labels(vectors, min_size)
    members = [np.flatnonzero(numbers == n) for n in range(int(numbers.max(initial=NOISE)) + 1)]
    ordered = [rows[nearest_to_centre(vectors[rows])] for rows in members]
    unclustered = [texts[i] for i in np.flatnonzero(numbers == NOISE)]
    words = keywords([[texts[i] for i in rows] for rows in ordered], unclustered)
    clusters = [
        _cluster(number, [candidates.texts[i] for i in rows], found, candidates.labels)
        for number, (rows, found) in enumerate(zip(ordered, words, strict=True), start=1)
    ]
    return Discovery(candidates, encoder, own, clusters, len(unclustered))


def embed(
    model: Any, resources: Any, texts: Sequence[str], advance: Advance | None = None
) -> tuple[np.ndarray, str, bool]:
    """``texts`` embedded by ``model``'s own encoder (cached per text, so texts it answered
    lately are not encoded again), or by the default encoder where it has none: the vectors,
    the encoder's name, and whether it is the model's."""
    found = encoder_model(model)
    if found is not None:
        vectors = found._encode(texts, advance)  # as the out-of-scope detector reads them
        return np.asarray(vectors, dtype=np.float32), str(found.encoder), True
    encoder = resources.encoder_pool().get(DEFAULT_ENCODER)
    vectors = encoder.encode(list(texts), progress=advance)
    return np.asarray(vectors, dtype=np.float32), DEFAULT_ENCODER, False


def cluster_key(texts: Sequence[str]) -> str:
    """A cluster's name that does not change while its texts do not: a hash of them (not of
    their predictions, which a text answered again replaces)."""
    return hashlib.blake2b("\x00".join(sorted(texts)).encode(), digest_size=16).hexdigest()[
        :KEY_LENGTH
    ]


def _cluster(number: int, members: list[Candidate], words: list[str], labels: list[str]) -> Cluster:
    ids = [member.prediction_id for member in members]
    key = cluster_key([member.text for member in members])
    stored, count = Counter(member.label for member in members).most_common(1)[0]
    label = ", ".join(decode(stored)) or "no label"  # a multi-label answer is a set
    return Cluster(
        number=number,
        key=key,
        keywords=words,
        suggested_name=suggested_name(words, labels),
        texts=[member.text for member in members],
        prediction_ids=ids,
        model_label=label,
        model_label_share=count / len(members),
        out_of_scope=sum(member.out_of_scope for member in members),
    )
