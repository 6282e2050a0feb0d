"""Export a sentence encoder to ONNX for serving without PyTorch: FP32, INT8 for the CPU, FP16
for CUDA.

The graph includes the pooling and the L2 normalisation, so what comes out is exactly what
``SentenceEncoder.encode`` returns. INT8 is ONNX Runtime's dynamic quantisation with per-channel
weights after its pre-processing (per-tensor weights cost MiniLM about 3% cosine similarity;
per-channel costs about 0.5%). Probe texts are encoded by the original model and stored with
the export, with the agreement each file reached, so ``OnnxEncoder`` can check at load time that
the files still give what the original gave.

Needs torch and onnx: it runs where models are trained, never in the serving path.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: no lock; export from one process at a time there
    fcntl = None  # type: ignore[assignment]

from textloop.errors import ConfigError
from textloop.models.encoders import SentenceEncoder
from textloop.models.onnx_encoder import FILES, FORMAT, PROBES, ExportManifest, OnnxEncoder

FLOOR = {"fp32": 0.999, "fp16": 0.99, "int8": 0.9}  # below these an export is refused

PROBE_TEXTS = (
    "I am still waiting on my card?",
    "How do I top up my account with a bank transfer?",
    "the striker scored twice before half time",
    "Oil prices rose sharply after the announcement.",
    "what is the weather like tomorrow",
    "Can I change my PIN at an ATM?",
    "A new study links sleep to memory.",
    "ok",
    "My transfer was declined and I don't know why, can you please check what went wrong "
    "with the payment I made yesterday to my landlord from the savings account?",
    "¿Dónde está mi tarjeta?",
    "refund!!! now",
    "The committee will meet again on Thursday to review the budget proposal.",
)


@contextmanager
def exporting(directory: Path) -> Iterator[None]:
    """Hold the export lock of ``directory``: processes that train at once (workers, a CLI
    beside a server) export an encoder once, and none replaces a folder another is reading."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.parent / f".{directory.name}.lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def export_encoder(
    name: str,
    directory: Path,
    identity: str | None = None,
    keep: tuple[str, ...] = tuple(FILES),
) -> ExportManifest:
    """Write ``directory`` with the graphs of the ``keep`` precisions (all by default), the
    tokenizer, probes and manifest, recording the encoder as ``identity`` (default: ``name``).

    The files are written to a temporary folder beside it and renamed into place, so a reader
    never sees half an export.
    """
    import torch

    source = SentenceEncoder(name)
    model = source._load()
    kinds = [type(module).__name__ for module in model]
    if kinds[0] != "Transformer" or any(k not in ("Pooling", "Normalize") for k in kinds[1:]):
        raise ConfigError(
            f"cannot export {name!r}: only a transformer with pooling and normalisation is "
            f"exported, and it has {', '.join(kinds)}"
        )
    transformer, pooling = model[0], model[1] if len(model) > 1 else None
    mode = getattr(pooling, "get_pooling_mode_str", lambda: "mean")()
    if mode not in ("mean", "cls"):
        raise ConfigError(f"cannot export {name!r}: its pooling is {mode!r} (mean or cls only)")
    tokenizer_file = Path(transformer.auto_model.name_or_path) / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise ConfigError(f"cannot export {name!r}: it has no tokenizer.json for `tokenizers`")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=directory.parent))
    try:
        wrapped = _Pooled(transformer.auto_model.eval(), mode == "cls")
        sample = model.tokenizer(
            ["an example", "another example"], return_tensors="pt", padding=True
        )
        names = ["input_ids", "attention_mask", "token_type_ids"]
        if any(field not in sample for field in names):
            raise ConfigError(f"cannot export {name!r}: its tokenizer gives no token_type_ids")
        axes = {field: {0: "batch", 1: "tokens"} for field in names}
        # The TorchScript exporter, deprecated in favour of one that needs onnxscript too; its
        # tracer warnings are about Python branches on shapes that the graph does not keep.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapped,
                tuple(sample[field] for field in names),
                str(staging / FILES["fp32"]),
                input_names=names,
                output_names=["embedding"],
                dynamic_axes={**axes, "embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        _quantise(staging / FILES["fp32"], staging / FILES["int8"])
        _halve(staging / FILES["fp32"], staging / FILES["fp16"])
        shutil.copy(tokenizer_file, staging / "tokenizer.json")
        reference = source.encode(list(PROBE_TEXTS))
        np.savez(staging / PROBES, texts=np.array(PROBE_TEXTS), embeddings=reference)
        manifest = ExportManifest(
            format=FORMAT,
            encoder=identity or name,
            dimension=int(reference.shape[1]),
            max_length=int(model.max_seq_length),
            files=dict(FILES),
            min_cosine={},
        )
        manifest.save(staging)
        agreement = {
            precision: OnnxEncoder(staging, precision, check=False).agreement()
            for precision in FILES
        }
        if any(agreement[precision] < FLOOR[precision] for precision in FILES):
            raise ConfigError(
                f"the ONNX export of {name!r} does not reproduce the original (lowest cosine "
                f"similarity on the probe texts: {agreement}); it is served with PyTorch"
            )
        for precision in set(FILES) - set(keep):
            (staging / FILES[precision]).unlink()
        kept = {precision: FILES[precision] for precision in FILES if precision in keep}
        manifest = ExportManifest(
            **{
                **asdict(manifest),
                "files": kept,
                "min_cosine": {precision: agreement[precision] for precision in kept},
            }
        )
        manifest.save(staging)
        if directory.exists():
            shutil.rmtree(directory)
        staging.chmod(0o755)  # mkdtemp makes it private; an export is shared like any artifact
        staging.rename(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _quantise(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = target.with_suffix(".pre.onnx")
    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    quantize_dynamic(str(prepared), str(target), per_channel=True, weight_type=QuantType.QInt8)
    prepared.unlink()


def _halve(source: Path, target: Path) -> None:
    """FP16 weights and arithmetic for CUDA, with FP32 inputs and outputs (so callers and the
    CPU, which runs it for the agreement check, need nothing different)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    onnx.save(convert_float_to_float16(onnx.load(str(source)), keep_io_types=True), str(target))


class _Pooled:
    """The transformer plus pooling and normalisation, as one module to trace."""

    def __new__(cls, transformer: Any, cls_token: bool) -> Any:
        import torch

        class Pooled(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.transformer = transformer

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                hidden = self.transformer(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                ).last_hidden_state
                if cls_token:
                    pooled = hidden[:, 0]
                else:
                    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, p=2, dim=1)

        return Pooled()
