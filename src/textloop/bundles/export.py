"""``textloop export``: a model version as a portable bundle, a folder or a ``.tar.gz``.

The bundle holds the model tree (``bundle.json``) with its arrays and INT8 encoder, ``predict.py``
(numpy, onnxruntime and tokenizers, nothing else), textloop's own saved model (for ``textloop
import``), and a manifest with every file's hash and the ids that trace the version back to its
data. Before it is kept, ``predict.py`` classifies check texts from the bundle and must give the
model's probabilities within ``TOLERANCE``, and, where the model carries an out-of-scope
detector (which the bundle then carries too), send the same check texts aside
(``check_against_bundle``): a bundle that would answer differently is refused. The bundle follows
the model, not the classifier's out-of-scope setting: it is the model's artifact, and a caller
that wants the nearest label everywhere asks ``classify(texts, scope=False)``.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from textloop import __version__
from textloop.artifacts import artifacts_for
from textloop.bundles.writer import BundleWriter, file_hashes
from textloop.config import Settings
from textloop.data.label_sets import Mode
from textloop.errors import ConfigError, InvalidRequest
from textloop.metadata.model_runs import producing_runs
from textloop.models import shared_predict as predict
from textloop.models.base import ModelResources, Use, load_model
from textloop.models.multi_label import is_multi_label
from textloop.models.out_of_scope import detector_of
from textloop.registry.aliases import PRODUCTION
from textloop.store.queries import aliased_model, get_classifier, resolve_model_version
from textloop.store.tables import DatasetVersion, ModelVersion

TOLERANCE = 1e-5  # largest difference in any probability between the bundle and the model
# How near its threshold a check text's in-scope score may lie and its out-of-scope flag still
# differ between the bundle and the model. A score sums two signs in [0, 1], each divided by a
# spread of at least 0.01 (``out_of_scope.MIN_SPREAD``): signs within TOLERANCE move it by at
# most 0.002, so a flag can only flip within that of the threshold; 0.01 leaves room.
SCOPE_MARGIN = 0.01
NATIVE = "model"  # textloop's own saved model inside the bundle
PICKLES = ("*.joblib", "*.pkl", "*.pickle", "*.pt", "*.pth")  # left out: loading one runs code
CHECK_TEXTS = (
    "I still have not received my new card",
    "how do I change my PIN?",
    "The exchange rate you applied was wrong!",
    "can I top up with a cheque",
    "how long should sourdough bread rise before baking",  # out of scope for most classifiers
    "why was I charged twice for one purchase",
    "the referee and the stadium",
    "interest on my loan",
    "rain and wind tomorrow",
    "",
    "ok",
    "Ünïcödé, emoji 🚀 and punctuation?!",
    "a much longer text that goes on about several things at once, the weather, a payment that "
    "did not arrive, a card that was declined at a shop abroad, and a question about fees",
)


@dataclass(frozen=True)
class ExportedBundle:
    classifier: str
    version: int
    family: str
    path: Path
    files: int
    bytes: int
    max_difference: float  # between predict.py and the model on the check texts
    out_of_scope: bool = False  # answers "out of scope" (the model carries a detector)

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "path": str(self.path)}


@dataclass(frozen=True)
class Located:
    """A model version found in the registry, with what its bundle records of it."""

    classifier: str
    version: int
    family: str
    artifact_uri: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    lineage: dict[str, Any]
    mode: str = Mode.SINGLE_LABEL  # the classifier's (``data.label_sets.Mode``)


def locate(session: Session, name: str, version: int | None) -> Located:
    """Version ``version`` of ``name``; by default production, else the newest."""
    classifier = get_classifier(session, name)
    record = (
        resolve_model_version(session, classifier, version)
        if version is not None
        else aliased_model(session, classifier, PRODUCTION)
        or resolve_model_version(session, classifier, None)
    )
    return Located(
        name,
        record.version,
        record.family,
        record.artifact_uri,
        dict(record.params),
        dict(record.metrics),
        _lineage(session, name, record),
        classifier.mode,
    )


def export_bundle(settings: Settings, found: Located, out: Path) -> ExportedBundle:
    """Write ``found`` to ``out``: a folder that must not hold anything yet, or a file ending
    ``.tar.gz``. Run outside any database transaction: it loads the model and predicts."""
    archive = out.name.endswith((".tar.gz", ".tgz"))
    if out.exists() and (archive or not out.is_dir() or any(out.iterdir())):
        raise InvalidRequest(
            f"{out} exists already; give a new folder or .tar.gz file", field="out"
        )
    native = artifacts_for(settings).local(found.artifact_uri)
    resources = dataclasses.replace(
        ModelResources.for_settings(settings, Use.TRAINING), runtime="onnx-int8"
    )
    model = load_model(native, resources)
    with tempfile.TemporaryDirectory(prefix=".bundle-", dir=_scratch(out)) as scratch:
        staging = Path(scratch) / "bundle"
        staging.mkdir()
        writer = BundleWriter(staging)
        tree = writer.node(model)
        scope = writer.out_of_scope(model)  # None: answers as bundles always did
        # pickles stay behind: an import never unpickles what a bundle brings (``importing``)
        shutil.copytree(native, staging / NATIVE, ignore=shutil.ignore_patterns(*PICKLES))
        shutil.copyfile(predict.__file__, staging / "predict.py")
        hashes = file_hashes(staging)
        _link_identical(staging, hashes)
        manifest: dict[str, Any] = {
            "format": predict.FORMAT,
            "classifier": found.classifier,
            "version": found.version,
            "family": found.family,
            "labels": list(model.classes_),
            "model": tree,
            **({predict.SCOPE: scope} if scope is not None else {}),
            "metrics": found.metrics,
            "lineage": found.lineage,
            "requires": _requirements(staging),
            "textloop_version": __version__,
            "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "files": hashes,
        }
        (staging / predict.MANIFEST).write_text(
            json.dumps(manifest, indent=2, default=str), encoding="utf-8"
        )
        try:
            difference = check_against_bundle(staging, model)
        except ConfigError as exc:
            raise ConfigError(f"{exc}; the bundle was not written") from exc
        files = len(hashes) + 1
        stored = {(p.stat().st_ino, p.stat().st_size) for p in staging.rglob("*") if p.is_file()}
        size = sum(bytes_ for _, bytes_ in stored)  # a linked file once
        if archive:
            _archive(staging, out)
        else:  # one rename: a reader never sees half a bundle
            if out.exists():
                out.rmdir()  # empty, checked above
            staging.rename(out)
    return ExportedBundle(
        found.classifier,
        found.version,
        found.family,
        out,
        files,
        size,
        difference,
        scope is not None,
    )


def check_against_bundle(directory: Path, model: Any) -> float:
    """Classify the check texts with ``predict.py`` from the bundle and with the model: the
    probabilities must agree within ``TOLERANCE`` (the largest difference is returned), and so
    must which texts are out of scope (``check_scope``)."""
    texts = [*CHECK_TEXTS, *model.classes_]
    bundle = predict.load(directory)
    bundled = bundle.predict_proba(texts)
    expected = np.asarray(model.predict_proba(texts), dtype=np.float64)
    same_shape = bundled.shape == expected.shape
    difference = float(np.abs(bundled - expected).max()) if same_shape else float("inf")
    if difference > TOLERANCE:
        raise ConfigError(
            f"the bundle's predict.py answers differently from the model (largest difference "
            f"{difference:.2e}, allowed {TOLERANCE:.0e})"
        )
    check_scope(bundle, model, texts, bundled, expected)
    return difference


def check_scope(
    bundle: predict.Bundle,
    model: Any,
    texts: list[str],
    bundled: np.ndarray,
    expected: np.ndarray,
) -> None:
    """The bundle must have a detector exactly where the model has one, and send aside the
    texts the model does, each from its own probabilities (``bundled``, ``expected``).

    The flags come from numbers that agree within ``TOLERANCE``, so a text whose in-scope score
    lies within a hair of the threshold could fall either side in the two: such a text (its
    score by the model within ``SCOPE_MARGIN`` of the threshold) is not compared, so that a
    bundle is never refused for a coin toss. Every other check text must get the same flag.
    """
    detector = None if is_multi_label(model) else detector_of(model)
    if (detector is None) != (bundle.detector is None):
        has, lacks = ("model", "bundle") if detector is not None else ("bundle", "model")
        raise ConfigError(
            f"the {has} answers 'out of scope' for texts that fit no label and the {lacks} does not"
        )
    if detector is None:
        return
    flags = detector.out_of_scope(model, texts, expected)
    bundled_flags = bundle.out_of_scope(texts, bundled)
    assert bundled_flags is not None
    clear = np.abs(detector.scores(model, texts, expected) - detector.threshold_) > SCOPE_MARGIN
    differing = [texts[int(row)] for row in np.flatnonzero((flags != bundled_flags) & clear)]
    if differing:
        raise ConfigError(
            "the bundle's predict.py answers 'out of scope' differently from the model for "
            f"{len(differing)} of the check texts, such as {differing[0]!r}"
        )


def _lineage(session: Session, name: str, record: ModelVersion) -> dict[str, Any]:
    dataset = session.get(DatasetVersion, record.dataset_version_id)
    return {
        "model_version_id": record.id,
        "training_run_id": producing_runs(session, name, [record.version]).get(record.version),
        "dataset_version": None
        if dataset is None
        else {
            "id": dataset.id,
            "version": dataset.version,
            "content_hash": dataset.content_hash,
            "source": dataset.source,
        },
    }


def _link_identical(staging: Path, hashes: dict[str, str]) -> None:
    """Hard-link each file of textloop's own model to the identical one of the portable tree
    (an n-gram model's arrays, a head): the bundle and its archive hold those bytes once."""
    portable: dict[str, str] = {}
    for name, digest in hashes.items():
        if not name.startswith(f"{NATIVE}/"):
            portable.setdefault(digest, name)
    for name, digest in hashes.items():
        twin = portable.get(digest)
        if name.startswith(f"{NATIVE}/") and twin is not None:
            (staging / name).unlink()
            os.link(staging / twin, staging / name)


def _requirements(staging: Path) -> list[str]:
    """What ``predict.py`` needs to run this bundle: numpy always; the rest with an encoder."""
    if (staging / "encoders").exists():
        return ["numpy", "onnxruntime", "tokenizers"]
    return ["numpy"]


def _scratch(out: Path) -> Path:
    """``out``'s folder (made if new), to stage in: the finished bundle is renamed into place."""
    parent = out.parent.resolve()
    parent.mkdir(parents=True, exist_ok=True)
    return parent


def _archive(staging: Path, out: Path) -> None:
    """A gzip'd tar with one top folder named after the archive, entries in sorted order."""
    top = out.name.removesuffix(".tar.gz").removesuffix(".tgz")
    partial = out.with_name(f".{out.name}.partial")
    try:
        with tarfile.open(partial, "w:gz") as tar:
            for path in sorted(staging.rglob("*")):
                name = f"{top}/{path.relative_to(staging).as_posix()}"
                tar.add(path, arcname=name, recursive=False)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
