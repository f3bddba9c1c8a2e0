"""Exporting a trained FCN as an inference model (Paddle, optionally ONNX) with its ``deploy.yaml``.

The export runs in a temporary directory inside ``save_dir``; only after the saved model reproduces the
dygraph model on a sample input are its files moved into ``save_dir`` (``deploy.yaml`` last).
"""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle import nn
from paddle.static import InputSpec

from paddlefcn.checks import is_int
from paddlefcn.data import build_transforms, dataset_meta
from paddlefcn.data.meta import DatasetMeta, make_meta
from paddlefcn.deploy.engines import RuntimeOptions, create_engine
from paddlefcn.deploy.manifest import (
    FORMATS,
    INPUT_NAME,
    DeployConfig,
    check_format,
    check_output_op,
    write_deploy_config,
)
from paddlefcn.deploy.onnx_export import convert_to_onnx, require_onnx_packages
from paddlefcn.deploy.parity import require_parity
from paddlefcn.engine.builder import Builder
from paddlefcn.errors import ConfigError, PaddleFCNError
from paddlefcn.registry import TRANSFORMS
from paddlefcn.utils.env import on_gpu
from paddlefcn.version import __version__

DYNAMIC_SHAPE = [-1, 3, -1, -1]
# Dynamic dimensions of the self-check input: odd sizes, so the pad-to-32 and crop are exercised.
CHECK_SHAPE = [1, 3, 97, 131]
PREFIX = "model"
PADDLE_MODEL_SUFFIXES = (".json", ".pdmodel")  # Paddle 3.x (PIR) writes .json, Paddle 2.x .pdmodel


class InferenceModel(nn.Layer):
    """The segmentor followed by the output op, as one graph to export.

    Args:
        model: Returns logits ``[N, C, H, W]`` for any input size.
        output_op: ``argmax`` (int32 labels ``[N, H, W]``), ``softmax`` or ``none`` (scores ``[N, C, H, W]``).
    """

    def __init__(self, model: nn.Layer, output_op: str) -> None:
        super().__init__()
        self.model = model
        self.output_op = check_output_op(output_op)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        logits = self.model(x)
        if self.output_op == "argmax":
            return paddle.argmax(logits, axis=1, dtype="int32")
        if self.output_op == "softmax":
            return F.softmax(logits, axis=1)
        return logits


def export_model(
    cfg: dict,
    weights: str | os.PathLike,
    save_dir: str | os.PathLike,
    output_op: Optional[str] = None,
    input_shape: Optional[Sequence[int]] = None,
    fmt: str = "paddle",
) -> DeployConfig:
    """Exports the model of ``cfg`` with ``weights`` to ``save_dir`` and checks the result against dygraph.

    Args:
        cfg: A loaded config; its ``model``, ``data.val.transforms`` and ``export`` sections are used.
        weights: A ``.pdparams`` file or a checkpoint directory holding ``model.pdparams``.
        save_dir: Where the model files and ``deploy.yaml`` go.
        output_op: ``argmax``, ``softmax`` or ``none``; default ``export.output_op`` or ``argmax``.
        input_shape: ``[N, C, H, W]`` with ``-1`` for dynamic dimensions; default ``export.input_shape`` or
            ``[-1, 3, -1, -1]``.
        fmt: ``paddle``, or ``onnx`` to also write ``model.onnx`` (the Paddle files stay next to it).

    Returns:
        What was written to ``deploy.yaml``.
    """
    export_cfg = cfg.get("export") or {}
    output_op = check_output_op(output_op or export_cfg.get("output_op") or "argmax")
    shape = check_input_shape(input_shape or export_cfg.get("input_shape") or DYNAMIC_SHAPE)
    check_format(fmt)
    versions = {"paddlefcn": __version__, "paddle": paddle.__version__}
    if fmt == "onnx":
        versions["paddle2onnx"] = require_onnx_packages()
    transforms = deploy_transforms(cfg, export_cfg.get("resize"))
    model = Builder(cfg).model(weights).without_aux()  # auxiliary heads are for training only
    meta = _label_meta(cfg, model.num_classes)

    target = Path(save_dir)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".export-", dir=target) as tmp:
        files = {"paddle": save_paddle_model(model, output_op, shape, Path(tmp))}
        if fmt == "onnx":
            paddle_files = {role: Path(tmp) / name for role, name in files["paddle"].items()}
            onnx_file = convert_to_onnx(paddle_files["model"], paddle_files["params"], Path(tmp) / f"{PREFIX}.onnx")
            files["onnx"] = {"model": onnx_file.name}
        check_export(model, Path(tmp), files, output_op, shape)
        for name in os.listdir(tmp):
            os.replace(Path(tmp) / name, target / name)
    deploy = DeployConfig(
        format=fmt,
        files=files,
        input_shape=shape,
        output_op=output_op,
        transforms=transforms,
        num_classes=meta.num_classes,
        class_names=meta.class_names,
        palette=meta.palette,
        exported_with=versions,
        imports=list(cfg.get("imports") or []),
    )
    write_deploy_config(target, deploy)
    return deploy


def check_input_shape(shape: Sequence[int]) -> list[int]:
    """``shape`` as ``[N, 3, H, W]`` integers with ``-1`` for dynamic dimensions; raises on anything else."""
    values = list(shape) if isinstance(shape, (list, tuple)) else None
    if (
        values is None
        or len(values) != 4
        or not all(is_int(v) and (v == -1 or v > 0) for v in values)
        or values[1] != 3
    ):
        raise PaddleFCNError(f"input shape must be N 3 H W with -1 for a dynamic dimension, got {shape!r}")
    return values


def deploy_transforms(cfg: dict, resize: Optional[Sequence[int]] = None) -> list[dict]:
    """The preprocessing to ship: ``data.val.transforms`` (default: ``Normalize``) without augmentations.

    ``resize`` (``[h, w]``, from ``export.resize``) replaces any ``Resize`` of the list, or is put first.
    """
    val_cfg = (cfg.get("data") or {}).get("val") or {}
    listed = copy.deepcopy(val_cfg.get("transforms") if "transforms" in val_cfg else [{"type": "Normalize"}])
    build_transforms(listed)  # raises on a bad entry before anything is written
    transforms = [t for t in listed or [] if not getattr(TRANSFORMS.get(t["type"]), "random", False)]
    if resize is not None:
        transforms = [t for t in transforms if t.get("type") != "Resize"]
        transforms.insert(0, {"type": "Resize", "size": resize})
        try:
            build_transforms(transforms)
        except PaddleFCNError as err:
            raise ConfigError(f"export.resize: {err}") from err
    return transforms


def _label_meta(cfg: dict, num_classes: int) -> DatasetMeta:
    """The val set's classes (checked against the model by ``Builder.model``), or generic ones without a val set."""
    dataset_cfg = (cfg.get("data") or {}).get("val")
    return dataset_meta(dataset_cfg) if dataset_cfg else make_meta(num_classes, source="model")


def save_paddle_model(model: nn.Layer, output_op: str, shape: Sequence[int], directory: Path) -> dict[str, str]:
    """Saves ``model`` + ``output_op`` as a static graph in ``directory``; returns the files written, by role."""
    graph = InferenceModel(model, output_op)
    graph.eval()
    spec = InputSpec([None if d == -1 else d for d in shape], "float32", INPUT_NAME)
    static = paddle.jit.to_static(graph, input_spec=[spec], full_graph=True)
    try:
        paddle.jit.save(static, str(directory / PREFIX))
    except Exception as err:  # tracing raises whatever the model's code raises under to_static
        reason = next((line.strip() for line in str(err).splitlines() if line.strip()), "")
        raise PaddleFCNError(
            f"paddle.jit.save cannot trace the model into a static graph ({type(err).__name__}: {reason}); "
            "a layer that computes shapes with Python ints may need a fixed --input-shape N C H W"
        ) from err
    written = [directory / f"{PREFIX}{suffix}" for suffix in PADDLE_MODEL_SUFFIXES]
    model_file = next((path for path in written if path.is_file()), None)
    params_file = directory / f"{PREFIX}.pdiparams"
    if model_file is None or not params_file.is_file():
        found = ", ".join(sorted(os.listdir(directory))) or "nothing"
        raise PaddleFCNError(f"paddle.jit.save of Paddle {paddle.__version__} wrote {found}; expected a model + params")
    return {"model": model_file.name, "params": params_file.name}


def check_export(
    model: nn.Layer, directory: Path, files: dict[str, dict[str, str]], output_op: str, shape: Sequence[int]
) -> None:
    """Runs every exported format once on a sample input and compares with ``model``; raises on a mismatch."""
    sample_shape = [CHECK_SHAPE[i] if d == -1 else d for i, d in enumerate(shape)]
    sample = np.random.default_rng(0).standard_normal(sample_shape).astype(np.float32)
    with paddle.no_grad():
        logits = model(paddle.to_tensor(sample)).numpy()
    options = RuntimeOptions(device="gpu" if on_gpu() else "cpu")
    for fmt in FORMATS:
        if fmt in files:
            paths = {role: directory / name for role, name in files[fmt].items()}
            output = create_engine(paths, fmt, options).run(sample)
            require_parity(output, logits, output_op, f"exported {fmt} model ({files[fmt]['model']})")
