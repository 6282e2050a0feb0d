"""Adapting a sentence encoder to a classifier's labels, within a time budget.

A frozen encoder places texts by what they are about in general; a few labels per class are
enough to move it towards what tells *these* classes apart. The objective is a cosine softmax:
each class gets a prototype, initialised to the mean embedding of its labelled texts, and the
encoder and prototypes learn together to put every text nearest its own class's prototype, by a
margin the scale sets. It needs no pairs (so it costs one pass per text per epoch, not one per
pair) and works from two labels per class upwards. Label sets (a multi-label classifier's) are
learned the same way, each label on its own: a text's cosine to each label's prototype, scaled
and shifted by a learned bias per label, is that label's log-odds, under binary cross-entropy.

The schedule depends only on the data and the device (``plan``), so a run on the CPU is
deterministic for a seed (it seeds torch's global generator, which dropout draws from: two runs
at once in one process would share it); the budget is a ceiling, for a machine slower than
planned, and a run it stops says so. Needs torch:
it runs where models are trained, never where they are served.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from textloop.errors import ConfigError
from textloop.models.label_heads import are_label_sets, indicators, label_names

# Texts seen per run on the CPU (epochs = this / labelled texts, within EPOCHS, and a run over
# more texts stops after this many); a GPU sees more.
PASSES_CPU = 6_000
PASSES_GPU = 40_000
EPOCHS = (1, 8)
PER_CLASS = 16  # texts per class whose frozen embeddings start its prototype


@dataclass(frozen=True)
class Plan:
    """How to fine-tune: what the data and the device decide, fixed before the first step."""

    epochs: int
    batch_size: int = 32
    learning_rate: float = 5e-5
    prototype_learning_rate: float = 1e-2
    scale: float = 20.0  # the cosine softmax's inverse temperature
    max_length: int = 64  # tokens; longer texts are truncated while training only
    max_passes: int | None = None  # texts seen in all, at most: a run over many stops early

    def steps(self, texts: int) -> int:
        planned = self.epochs * math.ceil(texts / self.batch_size)
        if self.max_passes is None:
            return planned
        return min(planned, math.ceil(self.max_passes / self.batch_size))

    def batches(self, texts: int, generator: Any) -> Iterator[Any]:
        """The rows of each step: every epoch a fresh shuffle, cut at ``steps``."""
        import torch

        steps = self.steps(texts)
        for _ in range(self.epochs):
            order = torch.randperm(texts, generator=generator)
            for start in range(0, texts, self.batch_size):
                if steps == 0:
                    return
                steps -= 1
                yield order[start : start + self.batch_size]


def plan(texts: int, device: str) -> Plan:
    passes = PASSES_GPU if device == "cuda" else PASSES_CPU
    low, high = EPOCHS
    epochs = max(low, min(high, round(passes / max(texts, 1))))
    return Plan(epochs=epochs, max_passes=passes)


@dataclass(frozen=True)
class Report:
    """What a fine-tuning run did, recorded with the model."""

    device: str
    epochs: int
    steps: int
    planned_steps: int
    seconds: float
    stopped_by_budget: bool
    first_loss: float | None  # None: the budget ran out before the first step
    last_loss: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _class_means(
    model: Any,
    texts: Sequence[str],
    labels: Sequence[Any],
    classes: list[str],
    seed: int,
    where: str,
) -> Any:
    """Each class's mean frozen embedding over at most ``PER_CLASS`` of its texts (for label
    sets, the texts carrying the label): where the prototypes start (a few texts place a class's
    centre well; all of them cost a pass)."""
    import torch

    rng = np.random.default_rng(seed)
    rows: dict[str, list[int]] = {label: [] for label in classes}
    for row, label in enumerate(labels):
        for name in label if isinstance(label, tuple) else (label,):
            rows[name].append(row)
    chosen = {
        label: sorted(rng.choice(found, min(PER_CLASS, len(found)), replace=False).tolist())
        for label, found in rows.items()
    }
    sample = [texts[row] for label in classes for row in chosen[label]]
    with torch.no_grad():
        embedded = torch.tensor(model.encode(sample, batch_size=64, normalize_embeddings=True))
    means, start = [], 0
    for label in classes:
        means.append(embedded[start : start + len(chosen[label])].mean(0))
        start += len(chosen[label])
    return torch.stack(means).to(where)


def device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def finetune(
    base: str,
    texts: Sequence[str],
    labels: Sequence[Any],
    out: Path,
    seconds: float,
    seed: int = 0,
    schedule: Plan | None = None,
) -> Report:
    """Fine-tune the sentence encoder ``base`` on ``texts`` and ``labels``; save it to ``out``
    (a sentence-transformers folder) and say what was done."""
    import torch

    from textloop.models.encoders import SentenceEncoder

    if schedule is not None and schedule.epochs < 1:
        raise ConfigError(f"fine-tuning needs at least one epoch, not {schedule.epochs}")
    began = time.monotonic()
    where = device()
    schedule = schedule or plan(len(texts), where)
    sets = are_label_sets(labels)
    if sets:
        classes = label_names(labels)
        targets = torch.tensor(indicators(labels, classes), dtype=torch.float32)
    else:
        classes = sorted(set(labels))
        index = {label: number for number, label in enumerate(classes)}
        targets = torch.tensor([index[label] for label in labels])
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)

    model = SentenceEncoder(base)._load()
    model.to(where)
    served_length = model.max_seq_length
    model.max_seq_length = min(served_length, schedule.max_length)
    prototypes = torch.nn.Parameter(_class_means(model, texts, labels, classes, seed, where))
    # label sets: each label's log-odds start at 0 half-way between unrelated and identical
    biases = torch.nn.Parameter(torch.full((len(classes),), -schedule.scale / 2, device=where))
    optimiser = torch.optim.AdamW(
        [
            {"params": model.parameters(), "lr": schedule.learning_rate},
            {"params": [prototypes, biases], "lr": schedule.prototype_learning_rate},
        ],
        weight_decay=0.01,
    )
    planned = schedule.steps(len(texts))
    warmup = max(1, planned // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min((step + 1) / warmup, max(0.0, (planned - step) / planned))
    )
    model.train()
    steps, losses, stopped = 0, [], False
    for batch in schedule.batches(len(texts), generator):
        if time.monotonic() - began > seconds:
            stopped = True
            break
        features = model.preprocess([texts[int(row)] for row in batch])
        features = {
            name: value.to(where) if hasattr(value, "to") else value
            for name, value in features.items()
        }
        embeddings = torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=1)
        directions = torch.nn.functional.normalize(prototypes, dim=1)
        logits = schedule.scale * embeddings @ directions.T
        if sets:
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits + biases, targets[batch].to(where)
            )
        else:
            loss = torch.nn.functional.cross_entropy(logits, targets[batch].to(where))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        scheduler.step()
        steps += 1
        losses.append(float(loss.detach()))
    model.eval()
    model.to("cpu")
    model.max_seq_length = served_length  # truncated while training only; served as before
    model.save(str(out))
    return Report(
        device=where,
        epochs=schedule.epochs,
        steps=steps,
        planned_steps=planned,
        seconds=round(time.monotonic() - began, 3),
        stopped_by_budget=stopped,
        first_loss=round(float(np.mean(losses[:5])), 4) if losses else None,
        last_loss=round(float(np.mean(losses[-5:])), 4) if losses else None,
    )
