"""The contract every model family follows and the registry through which families are found.

A family is a class with scikit-learn manners: the constructor only stores hyper-parameters,
``fit(texts, labels)`` learns and returns ``self``, learned state ends in ``_`` (``classes_``),
``predict_proba(texts)`` returns one row per text with columns in ``classes_`` order. Persistence
is ``save(directory)`` and the classmethod ``load(directory, resources)``. Built-in families
register here exactly as a user's own would, and ``checks.check_classifier`` verifies any of them.
What a family declares about itself (it learns from unlabelled texts, it is cheap enough to
answer first, what tuning may try) is its ``tags`` (``tags.FamilyTags``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Self, runtime_checkable

import numpy as np

from textloop import __version__
from textloop.artifacts import ArtifactRoot, artifact_store
from textloop.errors import DataError, NotFound
from textloop.models.out_of_scope import FOLDER as OUT_OF_SCOPE
from textloop.models.out_of_scope import OutOfScopeDetector, attach, detector_of
from textloop.models.tags import tags_of
from textloop.plugins import Registry

if TYPE_CHECKING:
    from textloop.config import Settings

MANIFEST = "model.json"


@runtime_checkable
class TextClassifier(Protocol):
    classes_: list[str]

    # labels: one name per text, or for a multi-label fit one label set (a tuple) per text
    def fit(self, texts: Sequence[str], labels: Sequence[Any]) -> Self: ...

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...

    def get_params(self) -> dict[str, Any]: ...

    def save(self, directory: Path) -> None: ...

    @classmethod
    def load(cls, directory: Path, resources: ModelResources) -> Self: ...


class PortableWriter(Protocol):
    """Where a fitted model writes what a portable bundle needs of it (``textloop.bundles``).

    A family that can leave textloop has ``portable(writer) -> dict``: the node of the bundle's
    model tree that ``models/shared_predict.py`` (a bundle's ``predict.py``) knows how to run,
    naming the files it wrote through the writer. A family without it cannot be exported;
    nothing else is asked of it.
    """

    def arrays(self, stem: str, arrays: dict[str, np.ndarray]) -> str: ...

    def encoder(self, directory: Path) -> str: ...

    def node(self, model: Any) -> dict[str, Any]: ...


# A batch sees each text once, but asks for its embedding twice: the model, then the
# out-of-scope detector. Enough for a chunk (2,048 rows by default) to be encoded once: 12 MB.
BATCH_EMBEDDINGS = 8192


class Use(Enum):
    """What a process loads models for; each use runs encoders one way, so two processes of
    the same use answer alike (the infra probe loads a version exactly as a replica will)."""

    SERVING = "serving"  # a replica: existing exports only (no PyTorch), one thread per call
    TRAINING = "training"  # exports what is missing, every core
    BATCH = "batch"  # existing exports, the threads given, no embedding cache (texts are new)


@dataclass
class ModelResources:
    """Heavy things models borrow instead of owning, so that one process loads each only once.

    Build them from settings with ``for_settings(settings, use)``: that is the one way, and it
    runs encoders on their ONNX exports as configured. A bare ``ModelResources()`` is for a
    model fitted by hand outside any textloop instance (a test, a notebook without settings):
    its encoders run on PyTorch. ``trusted`` is False for a model that comes from outside (an
    imported bundle): such a model loads from its arrays and JSON files only, and a family that
    would unpickle a file instead (``unpickle``) refuses, because loading a pickle can run any
    code.
    """

    encoders: Any = field(default=None)
    exports: ArtifactRoot | None = None  # where encoder exports are published
    runtime: str = "torch"
    export_missing: bool = False
    cache_size: int = 50_000  # embeddings kept per encoder
    threads: int | None = None  # per encoder call; None: every core (batch work, training)
    finetune_seconds: float = 180.0  # the ``finetuned`` family's budget, unless it is given one
    trusted: bool = True  # False: from outside, never unpickled

    @classmethod
    def for_settings(
        cls, settings: Settings, use: Use, threads: int | None = None
    ) -> ModelResources:
        """``threads`` applies to batch work only: a replica encodes on one thread per call
        (its concurrency is in batching, and its other threads need the other cores) and
        training on every core."""
        where = settings.encoder_dir or f"{settings.artifact_root}/encoders"
        return cls(
            exports=artifact_store(where, settings),
            runtime=settings.encoder_runtime,
            export_missing=use is Use.TRAINING,
            cache_size=BATCH_EMBEDDINGS if use is Use.BATCH else settings.embedding_cache,
            threads={Use.SERVING: 1, Use.TRAINING: None, Use.BATCH: threads}[use],
            finetune_seconds=settings.finetune_seconds,
        )

    def encoder_pool(self) -> Any:
        if self.encoders is None:
            from textloop.models.encoders import EncoderPool

            self.encoders = EncoderPool(
                self.exports, self.runtime, self.export_missing, self.cache_size, self.threads
            )
        return self.encoders


class FamilyRegistry(Registry):
    """Name → model class; ``create`` builds an unfitted instance with shared resources."""

    def create(self, name: str, resources: ModelResources | None = None, **params: Any) -> Any:
        cls = self.get(name)
        if tags_of(cls).needs_resources:
            params.setdefault("resources", resources or ModelResources())
        return cls(**params)


families = FamilyRegistry("model family", "families", "family", lambda: _import_builtins())


def _import_builtins() -> None:
    # Imported for their registration side effect; cheap, since heavy libraries load lazily.
    import textloop.models.baseline
    import textloop.models.calibrated
    import textloop.models.cascade
    import textloop.models.embedding
    import textloop.models.ensemble
    import textloop.models.finetuned
    import textloop.models.multi_label
    import textloop.models.ngram
    import textloop.models.set_cascade  # noqa: F401


def fit_model(
    model: Any, texts: Sequence[str], labels: Sequence[str], unlabelled: Sequence[str] = ()
) -> Any:
    """Fit ``model``, handing it unlabelled texts only if its family can learn from them."""
    if unlabelled and tags_of(model).learns_from_unlabelled:
        return model.fit(texts, labels, unlabelled=unlabelled)
    return model.fit(texts, labels)


def warm_up_of(model: Any) -> Any:
    """The model's ``warm_up(texts, progress=...)``, for a family that does slow per-text work
    (encoding) it can do ahead of fitting; None for one that does not."""
    return getattr(model, "warm_up", None)


def portable_of(model: Any) -> Any:
    """The model's ``portable(writer)`` (``PortableWriter``); None for a family that cannot
    leave textloop as a bundle."""
    return getattr(model, "portable", None)


def family_name(model: Any) -> str:
    """The registered name of ``model``'s family, or its class name for an unregistered one."""
    return str(getattr(model, "family", type(model).__name__))


def save_model(model: Any, directory: Path) -> None:
    """``model`` with its manifest, and the out-of-scope detector riding beside it, if any."""
    directory.mkdir(parents=True, exist_ok=True)
    model.save(directory)
    detector = detector_of(model)
    if detector is not None:
        detector.save(directory / OUT_OF_SCOPE)
    manifest = {
        "family": model.family,
        "classes": list(model.classes_),
        "params": model.get_params(),
        "textloop_version": __version__,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))


def load_model(directory: Path, resources: ModelResources) -> TextClassifier:
    manifest_path = directory / MANIFEST
    if not manifest_path.exists():
        raise NotFound(f"{directory} holds no saved model ({MANIFEST} is missing)")
    manifest = json.loads(manifest_path.read_text())
    cls = families.get(manifest["family"])
    model = cls.load(directory, resources)
    if (directory / OUT_OF_SCOPE).is_dir():
        attach(model, OutOfScopeDetector.load(directory / OUT_OF_SCOPE))
    return model


def unpickle(path: Path, resources: ModelResources) -> Any:
    """A file a family pickled (models saved before their arrays were), for a trusted model only:
    one from outside that lacks its arrays is refused by the file's name, never unpickled."""
    if not resources.trusted:
        raise DataError(
            f"{path.parent.name}/{path.name}: a model from outside loads from its arrays and JSON "
            "files only, never from a pickle, and its arrays are missing"
        )
    import joblib

    return joblib.load(path)


def check_fitted(model: Any) -> None:
    if not hasattr(model, "classes_"):
        raise RuntimeError(f"{type(model).__name__} is not fitted; call fit() first")
