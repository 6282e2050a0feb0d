"""Writes the files of a bundle's model tree, once each, and hashes what it wrote.

Models describe themselves through ``portable(writer)`` (the ``PortableWriter`` protocol of
``models.base``); this writer gives their arrays and encoders places in the bundle and turns a
model met a second time (a cascade's first stage is a member of its ensemble) into a reference.
A model's out-of-scope detector is written beside its tree (``out_of_scope``), naming the node
whose encoder embeds a text for it.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from textloop.data.untrusted import closed_tree
from textloop.errors import ConfigError
from textloop.models.arrays import save_arrays
from textloop.models.base import family_name, portable_of
from textloop.models.multi_label import is_multi_label
from textloop.models.out_of_scope import detector_of, encoder_model

ENCODER_FILES = ("tokenizer.json",)  # copied beside the INT8 graph and a manifest naming only it


class BundleWriter:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._names: set[str] = set()
        self._nodes: dict[int, str] = {}  # id(model) → the node id it was written under
        self._encoders: dict[str, str] = {}  # encoder identity → its folder in the bundle

    def node(self, model: Any) -> dict[str, Any]:
        """``model``'s node; a model already written is referred to, not written again."""
        if id(model) in self._nodes:
            return {"ref": self._nodes[id(model)]}
        describe = portable_of(model)
        if describe is None:
            raise ConfigError(
                f"the {family_name(model)!r} model family cannot be "
                "exported as a portable bundle (it has no portable description)"
            )
        node_id = f"n{len(self._nodes)}"
        self._nodes[id(model)] = node_id
        return {"id": node_id, **describe(self)}

    def out_of_scope(self, model: Any) -> dict[str, Any] | None:
        """What ``predict.py`` needs to answer "out of scope" as ``model`` does (the manifest's
        ``out_of_scope`` section): its detector's reference embeddings (``.npy``), the two
        signs' standardisation, the threshold, the label of the data's own out-of-scope examples
        (if any), and the node of ``model``'s tree (written first, by ``node``) whose encoder
        is the one the detector embeds with. None for a model without a detector, or a
        multi-label one, which is never out of scope."""
        detector = detector_of(model)
        if detector is None or is_multi_label(model):
            return None
        embedding = None
        if len(detector.reference_):
            encoder = encoder_model(model)
            embedding = None if encoder is None else self._nodes.get(id(encoder))
            if embedding is None:
                raise ConfigError(
                    "the model's out-of-scope detector compares embeddings, and no encoder of "
                    "its bundle's tree makes them"
                )
        reference = self._fresh("out_of_scope/reference", ".npy")
        (self.directory / "out_of_scope").mkdir(parents=True, exist_ok=True)
        np.save(self.directory / reference, detector.reference_, allow_pickle=False)
        return {
            "recall": detector.recall,
            "reference": reference,
            "embedding": embedding,
            "centre": [float(value) for value in detector.centre_],
            "spread": [float(value) for value in detector.spread_],
            "threshold": None if np.isneginf(detector.threshold_) else float(detector.threshold_),
            "label": detector.label,  # out-of-scope examples' own label, where the data had one
        }

    def arrays(self, stem: str, arrays: dict[str, np.ndarray]) -> str:
        relative = self._fresh(f"arrays/{stem}", ".npz")
        (self.directory / "arrays").mkdir(parents=True, exist_ok=True)
        save_arrays(self.directory / relative, arrays)
        return relative

    def encoder(self, directory: Path) -> str:
        """The INT8 graph of the ONNX export in ``directory``, its tokenizer and a manifest that
        names only that graph; an encoder shared by several members is copied once."""
        manifest = json.loads((directory / "encoder.json").read_text(encoding="utf-8"))
        identity = str(manifest["encoder"])
        if identity in self._encoders:
            return self._encoders[identity]
        if "int8" not in manifest["files"]:
            raise ConfigError(f"the encoder export in {directory} has no INT8 graph to bundle")
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", identity).strip("-") or "encoder"
        relative = self._fresh(f"encoders/{slug}", "")
        target = self.directory / relative
        target.mkdir(parents=True)
        shutil.copyfile(directory / manifest["files"]["int8"], target / "encoder.int8.onnx")
        for name in ENCODER_FILES:
            shutil.copyfile(directory / name, target / name)
        kept = {
            **manifest,
            "files": {"int8": "encoder.int8.onnx"},
            "min_cosine": {"int8": manifest.get("min_cosine", {}).get("int8")},
        }
        (target / "encoder.json").write_text(json.dumps(kept, indent=2), encoding="utf-8")
        self._encoders[identity] = relative
        return relative

    def _fresh(self, stem: str, suffix: str) -> str:
        name, number = f"{stem}{suffix}", 1
        while name in self._names:
            number += 1
            name = f"{stem}-{number}{suffix}"
        self._names.add(name)
        return name


def file_hashes(
    directory: Path, leave_out: tuple[str, ...] = (), files: list[Path] | None = None
) -> dict[str, str]:
    """SHA-256 of every file under ``directory`` (``files``, when the caller has walked it) by
    its relative path (POSIX separators), but Python's bytecode caches: importing
    ``predict.py`` from the bundle writes one beside it. The tree must be closed
    (``data.untrusted``): a link in it is refused, never followed nor skipped."""
    hashes = {}
    for path in closed_tree(directory) if files is None else files:
        relative = path.relative_to(directory).as_posix()
        if relative in leave_out or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        hashes[relative] = digest.hexdigest()
    return hashes
