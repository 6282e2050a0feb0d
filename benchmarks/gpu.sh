#!/usr/bin/env bash
# The serving benchmark on a CUDA GPU: textloop's FP16 encoder export on ONNX Runtime's CUDA
# execution provider. Run from the repository root on a machine with an NVIDIA GPU:
#
#   benchmarks/gpu.sh                      # installs onnxruntime-gpu from PyPI
#   WHEELS=/path/to/wheels benchmarks/gpu.sh   # offline: from a folder of wheels
#
# It builds .venv as `make` does, swaps onnxruntime for onnxruntime-gpu of the same version in
# it (the CPU path keeps working: CUDA is used only for FP16), then runs benchmarks/serving.py
# with --runtime onnx-fp16. Well under 5 minutes; figures go to serving-gpu.json.
set -euo pipefail
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
make venv
VERSION=$(.venv/bin/python -c "import importlib.metadata as m; print(m.version('onnxruntime'))")
FROM=()
if [ -n "${WHEELS:-}" ]; then FROM=(--no-index --find-links "$WHEELS"); fi
.venv/bin/python -m pip install --quiet "${FROM[@]}" "onnxruntime-gpu==$VERSION"
.venv/bin/python -m pip uninstall --quiet --yes onnxruntime
.venv/bin/python -m pip install --quiet --force-reinstall --no-deps "${FROM[@]}" "onnxruntime-gpu==$VERSION"
.venv/bin/python -c "import onnxruntime as o; assert 'CUDAExecutionProvider' in o.get_available_providers(), o.get_available_providers(); print('CUDA provider ready')"
SERVING_JSON=serving-gpu.json .venv/bin/python benchmarks/serving.py --runtime onnx-fp16 \
  --duration "${DURATION:-10}" --concurrency "${CONCURRENCY:-1,32,128}"
# Fine-tuning on the GPU, where torch has CUDA (a CUDA build of torch from WHEELS, say): the
# finetuned family plans 40,000 texts of training there instead of 6,000. Banking77, 10 labels per
# intent, one seed; figures go to few-labels-gpu.json (its "device" says where it ran).
if .venv/bin/python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  .venv/bin/python benchmarks/few_labels.py --shots 10 --seeds 0 --families finetuned \
    --finetune-seconds 600 --json few-labels-gpu.json
else
  echo "torch sees no CUDA device: the fine-tuning step is skipped (install a CUDA build of torch)"
fi
