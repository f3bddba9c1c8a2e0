"""Inference latency: the dygraph model, and its exports run by Paddle Inference (fp32, bf16) and ONNX Runtime (fp32,
int8) side by side, at several input sizes and batch sizes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

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


# The engines timed: (row name, backend, precision); reduced precisions run only on their one backend.
ENGINES = (
    ("paddle_inference", "paddle", "fp32"),
    ("paddle_inference", "paddle", "bf16"),
    ("onnxruntime", "onnx", "fp32"),
    ("onnxruntime", "onnx", "int8"),
)


def export_precisions(
    cfg: dict, weights: Path, work_dir: Path, precisions: Sequence[str]
) -> tuple[dict[str, Path], dict[str, str]]:
    """Exports ``weights`` (argmax output, dynamic shape) once per precision into ``work_dir/<precision>``.

    fp32 is exported with ONNX (both backends); bf16 where the CPU has AVX-512 BF16; int8 calibrated as the
    config's ``export`` section says. The accuracy check is left to ``tools/export.py`` (``check_images=0``): the
    benchmark measures speed, often of random weights.

    Returns:
        ``({precision: export dir}, {engine name: why it is missing})``.
    """
    exports: dict[str, Path] = {}
    missing: dict[str, str] = {}
    target = work_dir / "fp32"
    try:
        export_model(cfg, weights, target, output_op="argmax", fmt="onnx")
    except PaddleFCNError as err:
        missing["onnxruntime"] = str(err)
        logger.warning("ONNX export failed, timing Paddle Inference only: %s", err)
        export_model(cfg, weights, target, output_op="argmax", fmt="paddle")
    exports["fp32"] = target
    reduced = {"check_images": 0, "max_miou_drop": None}
    for precision in [p for p in ("bf16", "int8") if p in precisions]:
        name = "paddle_inference bf16" if precision == "bf16" else "onnxruntime int8"
        if on_gpu():
            missing[name] = f"{precision} exports run on the CPU only"
        elif precision == "int8" and "onnxruntime" in missing:
            missing[name] = "no ONNX export (see onnxruntime)"
            continue
        try:
            export_model(cfg, weights, work_dir / precision, output_op="argmax", precision=precision, **reduced)
        except PaddleFCNError as err:
            missing[name] = str(err)
            logger.warning("no %s export, not timed: %s", precision, err)
            continue
        exports[precision] = work_dir / precision
    return exports, missing


def engine_predictors(exports: dict[str, Path], missing: dict[str, str]) -> dict[tuple[str, str], Predictor]:
    """A ``Predictor`` per engine of ``ENGINES`` whose export exists, by ``(row name, precision)``."""
    device = "gpu" if on_gpu() else "cpu"
    predictors = {}
    for name, backend, precision in ENGINES:
        if precision in exports and name not in missing:
            predictors[name, precision] = Predictor(exports[precision], device=device, backend=backend)
    return predictors


def precision_latency(
    predictors: dict[tuple[str, str], Predictor],
    sizes: Sequence[Sequence[int]],
    batches: Sequence[int],
    warmup: int,
    repeats: int,
) -> list[dict]:
    """Latency rows: every engine on a random ``[B, 3, H, W]`` batch for each size and batch size.

    The engines of one input are timed in alternating rounds (``compare_latency``) in this process, so their ratios
    hold under a changing machine load. Each row has ``vs_fp32``: its median over the fp32 median of its backend.
    """
    rows = []
    rng = np.random.default_rng(0)
    for height, width in sizes:
        for batch_size in batches:
            batch = rng.standard_normal((batch_size, 3, height, width)).astype(np.float32)
            runs = {key: (lambda p=predictor, x=batch: p.run(x)) for key, predictor in predictors.items()}
            timings = compare_latency(runs, warmup, repeats)
            for (name, precision), latency in timings.items():
                logger.info("%s at %s: %s", predictors[name, precision].describe(), list(batch.shape), latency)
                baseline = timings.get((name, "fp32"))
                rows.append(
                    {
                        "backend": name,
                        "precision": precision,
                        "input": list(batch.shape),
                        "median_ms": latency.median,
                        "mean_ms": latency.mean,
                        "p90_ms": latency.p90,
                        "runs": latency.runs,
                        "vs_fp32": None if baseline is None else latency.median / baseline.median,
                    }
                )
    return rows
