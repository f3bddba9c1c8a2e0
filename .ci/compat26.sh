#!/usr/bin/env bash
# Paddle 2.6 compatibility stage: PyPI's paddlepaddle-gpu is 2.6.2, so the model, export, deploy and
# train-export-infer tests (and the backbone and head tests) run again in a separate environment (.venv26, git-ignored) with paddlepaddle
# 2.6.2, NumPy 1.x and paddle2onnx 1.x (2.x needs Paddle 3). Tests needing ONNX skip only if those are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv26
[ -x "$VENV/bin/python" ] || python -m venv "$VENV"
"$VENV/bin/pip" install -q "paddlepaddle==2.6.2" "numpy<2" "paddle2onnx>=1.2,<2" "onnxruntime>=1.16" -e ".[test]"
"$VENV/bin/python" -c "import paddle; assert paddle.__version__.startswith('2.6'), paddle.__version__"
OMP_NUM_THREADS=2 "$VENV/bin/python" -m pytest -q -p no:cacheprovider \
    tests/test_models.py tests/test_backbones.py tests/test_heads.py tests/test_export.py tests/test_predictor.py \
    tests/test_compat_pipeline.py
