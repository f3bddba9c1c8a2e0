"""Exporting a trained FCN as an inference model (Paddle, optionally ONNX) with its ``deploy.yaml``.

The export runs in a temporary directory inside ``save_dir``; only after the saved model reproduces the
dygraph model on a sample input are its files moved into ``save_dir`` (``deploy.yaml`` last).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle import nn
from paddle.static import InputSpec

from paddlefcn.data import build_dataset, build_transforms, dataset_meta
from paddlefcn.data.meta import DatasetMeta, make_meta
from paddlefcn.deploy.accuracy import measure_cost, require_within
from paddlefcn.deploy.engines import RuntimeOptions, create_engine
from paddlefcn.deploy.manifest import (
    FORMATS,
    INPUT_NAME,
    DeployConfig,
    check_format,
    write_deploy_config,
)
from paddlefcn.deploy.onnx_export import convert_to_onnx, require_onnx_packages
from paddlefcn.deploy.parity import require_parity
from paddlefcn.deploy.precision import (
    check_backend,
    default_format,
    miou_drop_limit,
    require_bf16_cpu,
    warn_without_vnni,
)
from paddlefcn.deploy.predictor import Predictor
from paddlefcn.deploy.quantize import (
    QuantizationScheme,
    calibration_images,
    quantize_int8,
    require_quantization,
    spread,
)
from paddlefcn.engine.builder import Builder
from paddlefcn.errors import ConfigError, PaddleFCNError
from paddlefcn.registry import TRANSFORMS
from paddlefcn.settings import ExportSettings, output_op_check
from paddlefcn.utils.env import on_gpu
from paddlefcn.version import __version__

# Dynamic dimensions of the self-check input: odd sizes, so the pad-to-32 and crop are exercised.
CHECK_SHAPE = [1, 3, 97, 131]
PREFIX = "model"
INT8_MODEL = f"{PREFIX}.int8.onnx"
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
        self.output_op = output_op_check(output_op, "output_op")

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
    fmt: Optional[str] = None,
    precision: Optional[str] = None,
    **options: Any,
) -> DeployConfig:
    """Exports the model of ``cfg`` with ``weights`` to ``save_dir`` and checks the result against dygraph.

    A bf16 or int8 export is also scored against the fp32 one on val images; with a drop of mIoU above
    ``max_miou_drop`` points it is refused and nothing is written.

    Args:
        cfg: A loaded config; its ``model``, ``data`` and ``export`` sections are used.
        weights: A ``.pdparams`` file or a checkpoint directory holding ``model.pdparams``.
        save_dir: Where the model files and ``deploy.yaml`` go.
        output_op: ``argmax``, ``softmax`` or ``none``; default ``export.output_op`` or ``argmax``.
        input_shape: ``[N, C, H, W]`` with ``-1`` for dynamic dimensions; default ``export.input_shape`` or
            ``[-1, 3, -1, -1]``.
        fmt: ``paddle``, or ``onnx`` to also write ``model.onnx`` (the Paddle files stay next to it); default
            ``onnx`` for int8 (its only format) and ``paddle`` otherwise (bf16's only format).
        precision: ``fp32``, ``bf16`` (Paddle Inference with oneDNN's bfloat16 kernels, on CPUs with AVX-512 BF16)
            or ``int8`` (ONNX Runtime static quantization, calibrated on the dataset); default ``export.precision``.
        **options: Other ``export`` settings (``ExportSettings``): ``calib_images``, ``calib_split``,
            ``calib_method``, ``check_images``, ``max_miou_drop`` (``None`` or ``"none"``: no limit).

    Returns:
        What was written to ``deploy.yaml``.

    Raises:
        PaddleFCNError: One line for a bad argument, a model that cannot be exported or does not match dygraph,
            a precision this CPU or format cannot run, or an accuracy cost above the limit.
    """
    unknown = sorted(set(options) - set(ExportSettings.keys()))
    if unknown:
        raise TypeError(f"export_model() got unknown export settings: {', '.join(unknown)}")
    limit = miou_drop_limit(options.pop("max_miou_drop", (cfg.get("export") or {}).get("max_miou_drop", 1.0)))
    settings = ExportSettings.of(
        cfg, output_op=output_op, input_shape=input_shape, precision=precision, max_miou_drop=None, **options
    )
    output_op, shape, precision = settings.output_op, list(settings.input_shape), settings.precision
    fmt = check_format(fmt or default_format(precision))
    check_backend(precision, fmt)
    reduced = precision != "fp32"
    if reduced and limit is not None and settings.check_images == 0:
        raise PaddleFCNError("--max-miou-drop needs --check-images of at least 1 (or --max-miou-drop none)")
    versions = {"paddlefcn": __version__, "paddle": paddle.__version__}
    if fmt == "onnx":
        versions["paddle2onnx"] = require_onnx_packages()
    if precision == "int8":
        versions["onnxruntime"] = require_quantization()
        warn_without_vnni()
    if precision == "bf16":
        require_bf16_cpu()
    transforms = deploy_transforms(cfg, settings.resize)
    model = Builder(cfg).model(weights).without_aux()  # auxiliary heads are for training only
    meta = _label_meta(cfg, model.num_classes)
    calibration_set = split_dataset(cfg, settings.calib_split, "--calib-split") if precision == "int8" else None
    check_set = split_dataset(cfg, "val", "--check-images") if reduced and settings.check_images else None

    target = Path(save_dir)
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix=".export-", dir=target) as tmp:
            work = Path(tmp)
            files = {"paddle": save_paddle_model(model, output_op, shape, work)}
            if fmt == "onnx":
                paddle_files = {role: work / name for role, name in files["paddle"].items()}
                onnx_file = convert_to_onnx(paddle_files["model"], paddle_files["params"], work / f"{PREFIX}.onnx")
                files["onnx"] = {"model": onnx_file.name}
            check_export(model, work, files, output_op, shape)
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
            if reduced:
                deploy = reduce_precision(deploy, work, settings, limit, calibration_set, check_set)
            names = os.listdir(work) if precision != "int8" else list(deploy.files["onnx"].values())
            for name in names:
                os.replace(work / name, target / name)
        write_deploy_config(target, deploy)
    except BaseException:
        if created and target.is_dir() and not any(target.iterdir()):
            target.rmdir()  # a refused or failed export leaves no trace
        raise
    return deploy


def split_dataset(cfg: dict, split: str, flag: str) -> Any:
    """The dataset of ``data.<split>`` (``load(i)`` gives raw images); raises one line naming ``flag`` without it."""
    dataset_cfg = (cfg.get("data") or {}).get(split)
    if not dataset_cfg:
        if flag == "--check-images":
            raise PaddleFCNError(
                "the accuracy check (--check-images) scores data.val, which the config lacks; "
                "export with --check-images 0 --max-miou-drop none to skip it"
            )
        raise PaddleFCNError(f"{flag} {split}: the config has no data.{split} section to calibrate on")
    return build_dataset(dataset_cfg)


def reduce_precision(
    fp32: DeployConfig,
    work: Path,
    settings: ExportSettings,
    limit: Optional[float],
    calibration_set: Any,
    check_set: Any,
) -> DeployConfig:
    """The bf16 or int8 export made from the checked fp32 export ``fp32`` in ``work``, its accuracy cost measured.

    int8 quantizes ``work/model.onnx`` into ``work/model.int8.onnx``; bf16 is the same Paddle files run with oneDNN's
    bfloat16 kernels. The reduced model runs once on a sample input, then (``check_images`` > 0) both models segment
    val images and the cost is recorded; a drop above ``limit`` points raises.
    """
    precision = settings.precision
    backend = default_format(precision)
    reference = Predictor(work, backend=backend, deploy=fp32)
    if precision == "int8":
        scheme = QuantizationScheme(method=settings.calib_method)
        indices = spread(settings.calib_images, len(calibration_set))
        images = calibration_images(calibration_set, indices, reference.preprocess)
        quantized = quantize_int8(work / fp32.files["onnx"]["model"], work / INT8_MODEL, images, scheme)
        reduced = dataclasses.replace(
            fp32,
            format="onnx",
            files={"onnx": {"model": quantized.name}},
            precision="int8",
            calibration={"split": settings.calib_split, "images": len(indices), "method": settings.calib_method},
            quantization=scheme.describe(),
        )
    else:
        reduced = dataclasses.replace(fp32, format="paddle", files={"paddle": fp32.files["paddle"]}, precision="bf16")
    predictor = Predictor(work, backend=backend, deploy=reduced)
    sample_shape = [CHECK_SHAPE[i] if d == -1 else d for i, d in enumerate(fp32.input_shape)]
    sample = np.random.default_rng(0).standard_normal(sample_shape).astype(np.float32)
    output = predictor.run(sample)  # raises one line if the runtime cannot run it
    expected = reference.run(sample)
    if output.shape != expected.shape:
        raise PaddleFCNError(
            f"the {precision} model returns shape {list(output.shape)}, the fp32 model {list(expected.shape)}"
        )
    if check_set is None:
        return reduced
    indices = spread(settings.check_images, len(check_set))
    cost = measure_cost(reference, predictor, check_set, indices, precision)
    require_within(cost, limit)
    return dataclasses.replace(reduced, accuracy=cost.as_dict())


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
