"""``finetuned``: the ``embedding`` family on a sentence encoder fine-tuned to the classifier's own
labels, for when labels are few and each should teach the model as much as it can.

``fit`` adapts the encoder (``finetuning``), exports the result to ONNX (INT8 for the CPU, FP16
for CUDA, each checked against the fine-tuned model on probe texts), then fits the head, and
self-trains it on the pool, on that export's embeddings, exactly as ``embedding`` does on the
shared encoder's. The export is saved inside the model (``encoder/``) and served without torch;
its embeddings are cached under its own identity (a hash of its files), never with the shared
encoder's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import tempfile
import weakref
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Self

from textloop.models.base import ModelResources, families
from textloop.models.embedding import EmbeddingClassifier
from textloop.models.encoders import DEFAULT_ENCODER, CachedEncoder
from textloop.models.tags import FamilyTags

ENCODER = "encoder"  # the model's own export, inside its folder
KEPT = ("int8", "fp16")  # what a model keeps of its export: the CPU's file and CUDA's
REPORT = "finetuning.json"  # what the fine-tuning run did


@families.register("finetuned")
class FinetunedClassifier(EmbeddingClassifier):
    tags: ClassVar[FamilyTags] = dataclasses.replace(
        EmbeddingClassifier.tags,
        # Each trial would fine-tune again: the head's C is not worth that; the defaults stand.
        search_space={},
        min_train_texts=200,  # among several candidates (``auto``): below, it is left out
        # Gains over ``embedding`` on Banking77 (``benchmarks/few_labels.py``): 1.0 points at 5
        # labels per intent, 1.7 at 10, 0.16 at the whole train file (~130) for twice the time.
        max_texts_per_label=50,
        improves_on="embedding",  # the same head on the frozen encoder: its gain's baseline
        version="1",
        refits=False,  # fine-tuning twice would double the longest step of a run
    )

    def __init__(
        self,
        encoder: str = DEFAULT_ENCODER,
        seconds: float | None = None,
        epochs: int | None = None,
        seed: int = 0,
        C: float = 10.0,
        max_iter: int = 1000,
        class_weight: str | None = "balanced",
        self_training: float | None = 0.5,
        resources: ModelResources | None = None,
    ) -> None:
        super().__init__(encoder, C, max_iter, class_weight, self_training, resources)
        if seconds is None:
            seconds = (resources or ModelResources()).finetune_seconds
        self.seconds = seconds
        self.epochs = epochs  # None: planned from the number of labelled texts
        self.seed = seed

    def get_params(self) -> dict[str, Any]:
        return {
            **super().get_params(),
            "seconds": self.seconds,
            "epochs": self.epochs,
            "seed": self.seed,
        }

    def warm_up(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> None:
        """Once fitted, encode ``texts`` ahead as ``embedding`` does; before ``fit`` there is
        nothing to encode them with yet (the adapted encoder does not exist)."""
        if hasattr(self, "tuned_"):
            self._encode(texts, progress)

    def fit(
        self, texts: Sequence[str], labels: Sequence[Any], unlabelled: Sequence[str] = ()
    ) -> Self:
        """Label sets fine-tune each label on its own (``finetuning``), then ``embedding``'s
        per-label heads learn on the adapted encoder."""
        from textloop.models.finetuning import device, finetune, plan
        from textloop.models.onnx_export import export_encoder

        work = Path(tempfile.mkdtemp(prefix="textloop-finetuned-"))
        weakref.finalize(self, shutil.rmtree, work, True)  # the export, until the model is saved
        schedule = plan(len(texts), device())
        if self.epochs is not None:
            schedule = replace(schedule, epochs=self.epochs, max_passes=None)
        self.fit_report_ = finetune(
            self.encoder,
            list(texts),
            list(labels),
            work / "model",
            self.seconds,
            self.seed,
            schedule,
        ).as_dict()
        export_encoder(
            str(work / "model"), work / ENCODER, identity=_identity(work / "model"), keep=KEPT
        )
        shutil.rmtree(work / "model")
        self.tuned_ = self._adopt(work / ENCODER)
        return super().fit(texts, labels, unlabelled)

    def _adopt(self, directory: Path) -> CachedEncoder:
        self.export_ = directory
        return self._pool().adopt(directory)

    def _encoder(self) -> Any:
        return self.tuned_

    def save(self, directory: Path) -> None:
        super().save(directory)
        shutil.copytree(self.export_, directory / ENCODER, dirs_exist_ok=True)
        (directory / REPORT).write_text(json.dumps(self.fit_report_, indent=2))

    @classmethod
    def load(cls, directory: Path, resources: ModelResources) -> Self:
        model = super().load(directory, resources)  # the parameters and the head
        model.fit_report_ = json.loads((directory / REPORT).read_text())
        model.tuned_ = model._adopt(directory / ENCODER)
        return model


def _identity(model_folder: Path) -> str:
    """A name for a fine-tuned encoder that only the same weights share."""
    digest = hashlib.sha256()
    for path in sorted(model_folder.rglob("*.safetensors")) or sorted(model_folder.rglob("*.bin")):
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return f"finetuned-{digest.hexdigest()[:16]}"
