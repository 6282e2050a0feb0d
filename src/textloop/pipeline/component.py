"""The contract every pipeline step follows, and what steps hand to each other.

A component is a dataclass: its fields are its configuration, and they decide its output together
with its inputs. ``run(workspace, inputs)`` consumes the outputs of the steps it depends on and
returns one ``Output``: a typed, content-hashed artifact described entirely by JSON properties.
Because an output is exactly what the metadata store records, a cached step hands on its recorded
output unchanged; ``available`` says whether bytes an output points at (a model directory) are
still there to reuse.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from sqlalchemy import select

from textloop.artifacts import ArtifactStore, artifacts_for
from textloop.config import Settings
from textloop.data.datasets import load_splits
from textloop.data.label_sets import Mode, decode
from textloop.models.base import ModelResources, load_model, warm_up_of
from textloop.pipeline.progress import Progress, SilentProgress
from textloop.store.database import Store
from textloop.store.tables import Classifier

Splits = dict[str, tuple[list[str], list[Any]]]  # labels: names, or label sets (multi-label)
NOT_A_PARAMETER = {"parameter": False}  # dataclass field metadata: data, not configuration


@dataclass(frozen=True)
class Output:
    """One artifact: ``uri`` defaults to a name derived from the type and the content hash."""

    type: str
    content_hash: str
    properties: dict[str, Any] = field(default_factory=dict)
    uri: str | None = None


@dataclass
class RunWorkspace:
    """What every step of one run shares: where things live, and objects too dear to load twice."""

    store: Store
    settings: Settings
    classifier: str
    resources: ModelResources  # ``for_settings(settings, Use.TRAINING)``: never a bare default
    progress: Progress = field(default_factory=SilentProgress)
    fitted: dict[str, Any] = field(default_factory=dict)
    batches: dict[str, Any] = field(default_factory=dict)  # received tables by content hash
    _splits: dict[int, Splits] = field(default_factory=dict)
    _pools: dict[int, list[str]] = field(default_factory=dict)
    _models: dict[str, Any] = field(default_factory=dict)
    _mode: Mode | None = None

    @property
    def artifacts(self) -> ArtifactStore:
        return artifacts_for(self.settings)

    def splits(self, dataset_version_id: int) -> Splits:
        """Texts and labels by split; a multi-label classifier's labels are label sets
        (``data.label_sets``), which is how every model family and metric tells the modes
        apart."""
        if dataset_version_id not in self._splits:
            with self.store.session() as session:
                splits: Splits = dict(load_splits(session, dataset_version_id))
            if self.multi_label:
                splits = {
                    part: (texts, [decode(label) for label in labels])
                    for part, (texts, labels) in splits.items()
                }
            self._splits[dataset_version_id] = splits
        return self._splits[dataset_version_id]

    @property
    def multi_label(self) -> bool:
        """Whether this run's classifier answers label sets (fixed when it was created)."""
        if self._mode is None:
            with self.store.session() as session:
                mode = session.scalar(
                    select(Classifier.mode).where(Classifier.name == self.classifier)
                )
            self._mode = Mode(mode or Mode.SINGLE_LABEL)
        return self._mode is Mode.MULTI_LABEL

    def unlabelled(self, pool: Output | None, splits: Splits) -> list[str]:
        """The pool's texts minus every text of ``splits``: a text with a label is never
        guessed at, and one held out for validation or test never reaches a fit."""
        if pool is None:  # no candidate family learns from unlabelled texts
            return []
        classifier_id = pool.properties["classifier_id"]
        if classifier_id not in self._pools:
            from textloop.review.pool import unlabelled_texts

            with self.store.session() as session:
                self._pools[classifier_id] = unlabelled_texts(session, classifier_id)
        labelled = {text for texts, _ in splits.values() for text in texts}
        return [text for text in self._pools[classifier_id] if text not in labelled]

    def model(self, relative: str) -> Any:
        """The model saved as ``relative`` in the artifact store, loaded once per run."""
        if relative not in self._models:
            self._models[relative] = load_model(self.artifacts.local(relative), self.resources)
        return self._models[relative]

    def keep_model(self, relative: str, model: Any) -> None:
        self._models[relative] = model


class Component:
    """Subclasses are dataclasses, set ``name`` and bump ``version`` when their logic changes."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    cacheable: ClassVar[bool] = True
    # An importer names an artifact that exists already (a dataset version, the production
    # model): it consumes it rather than producing it, and always runs.
    importer: ClassVar[bool] = False

    def parameters(self) -> dict[str, Any]:
        """The configuration that decides the output (data handed in is ``NOT_A_PARAMETER``)."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)  # type: ignore[arg-type]
            if f.metadata.get("parameter", True)
        }

    def run(self, workspace: RunWorkspace, inputs: Mapping[str, Output]) -> Output:
        raise NotImplementedError

    def available(self, workspace: RunWorkspace, output: Output) -> bool:
        return True


def json_hash(value: Any) -> str:
    """A content hash of JSON-able data, independent of key order."""
    payload = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def warm_up(model: Any, texts: list[str], label: str, progress: Progress) -> None:
    """Let a model do its slow per-text work (encoding) up front, behind a progress bar."""
    prepare = warm_up_of(model)
    if prepare is None:
        return
    unique = list(dict.fromkeys(texts))
    advance = progress.task(f"encoding {len(unique):,} texts for {label}", total=len(unique))
    prepare(unique, progress=advance)
    progress.done()
