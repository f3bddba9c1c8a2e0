"""Inference latency of one image: the dygraph model vs its export run by Paddle Inference and ONNX Runtime."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import numpy as np
import paddle
from paddle import nn

from paddlefcn.deploy import Predictor, export_model
from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils.env import on_gpu
from paddlefcn.utils.timing import Latency, compare_latency, measure_latency

logger = logging.getLogger("paddlefcn.benchmark")


def dygraph_latency(model: nn.Layer, batch: np.ndarray, warmup: int, repeats: int) -> Latency:
    """The eval-mode model plus argmax, from a host array to host labels (as a predictor does)."""
    model.eval()

    def run() -> np.ndarray:
        with paddle.no_grad():
            return model(paddle.to_tensor(batch)).argmax(axis=1).numpy()

    return measure_latency(run, warmup, repeats)


def exported_latency(
    cfg: dict, model: nn.Layer, batch: np.ndarray, work_dir: Path, warmup: int, repeats: int
) -> tuple[dict[str, Optional[Latency]], dict[str, str]]:
    """Exports ``model`` (argmax output, dynamic shape) and times each available backend on ``batch``.

    The backends are timed in alternating rounds (``compare_latency``), so their ratio holds under a
    changing machine load.

    Returns:
        ``({"paddle_inference": ..., "onnxruntime": ...}, {backend: why it is None})``.
    """
    weights = work_dir / "weights.pdparams"
    paddle.save(model.state_dict(), str(weights))
    export_dir = work_dir / "export"
    missing: dict[str, str] = {}
    try:
        export_model(cfg, weights, export_dir, output_op="argmax", fmt="onnx")
    except PaddleFCNError as err:
        missing["onnxruntime"] = str(err)
        logger.warning("ONNX export failed, timing Paddle Inference only: %s", err)
        export_model(cfg, weights, export_dir, output_op="argmax", fmt="paddle")
    device = "gpu" if on_gpu() else "cpu"
    backends = {"paddle_inference": "paddle", "onnxruntime": "onnx"}
    predictors = {
        name: Predictor(export_dir, device=device, backend=backend)
        for name, backend in backends.items()
        if name not in missing
    }
    runs = {name: (lambda p=predictor: p.run(batch)) for name, predictor in predictors.items()}
    timings: dict[str, Optional[Latency]] = {name: None for name in backends}
    timings.update(compare_latency(runs, warmup, repeats))
    for name, predictor in predictors.items():
        logger.info("%s: %s", predictor.describe(), timings[name])
    return timings, missing
