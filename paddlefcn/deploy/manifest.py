"""``deploy.yaml``: what an export directory holds and how to preprocess and read its model's output.

Example (Paddle 3.x, ``--format onnx``)::

    format: onnx
    files:
      paddle: {model: model.json, params: model.pdiparams}
      onnx: {model: model.onnx}
    input_shape: [-1, 3, -1, -1]
    output_op: argmax
    transforms:
    - {type: Normalize, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}
    num_classes: 21
    class_names: [background, aeroplane, ...]
    palette: [[0, 0, 0], [128, 0, 0], ...]
    exported_with: {paddlefcn: 0.1.0, paddle: 3.3.1, paddle2onnx: 2.1.0}
    precision: fp32

An int8 export (``--precision int8``) holds only ``model.int8.onnx``, and says how it was made and what it cost::

    format: onnx
    files:
      onnx: {model: model.int8.onnx}
    precision: int8
    calibration: {split: train, images: 64, method: minmax}
    quantization: {tool: onnxruntime 1.32.0 quantize_static, format: QDQ, weights: int8 per channel,
                   activations: uint8, op_types: [Conv]}
    accuracy: {split: val, images: 32, precision: int8, miou_fp32: 0.5217, miou: 0.5196, miou_drop: 0.21,
               mask_agreement: 0.9874}
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from paddlefcn.checks import check_int, is_int
from paddlefcn.config import dump_yaml, parse_yaml
from paddlefcn.deploy.precision import check_backend, check_precision
from paddlefcn.errors import PaddleFCNError
from paddlefcn.settings import output_op_check
from paddlefcn.utils.files import atomic_write_text

DEPLOY_FILE = "deploy.yaml"
INPUT_NAME = "x"  # the graph input of every export
FORMATS = ("paddle", "onnx")
# The files each format needs, by role.
FORMAT_FILES = {"paddle": ("model", "params"), "onnx": ("model",)}
# Absent from older exports (which are fp32); calibration, quantization and accuracy are null for fp32.
OPTIONAL_KEYS = ("exported_with", "imports", "precision", "calibration", "quantization", "accuracy")


@dataclass
class DeployConfig:
    """The contents of ``deploy.yaml``; file names are relative to the export directory.

    Attributes:
        format: The format the Predictor loads by default (``paddle`` or ``onnx``).
        files: Per format, its files by role (``{"paddle": {"model": "model.json", "params": ...}}``).
        input_shape: ``[N, C, H, W]`` of the graph input; ``-1`` marks a dynamic dimension.
        output_op: ``argmax`` (int32 labels ``[N, H, W]``), ``softmax`` or ``none`` (float32 ``[N, C, H, W]``).
        transforms: Preprocessing, as a transform config list for ``paddlefcn.data.build_transforms``.
        num_classes: Number of classes.
        class_names: One name per class.
        palette: One ``[r, g, b]`` per class.
        exported_with: Versions of the packages that wrote the export.
        imports: The config's ``imports``: modules registering what ``transforms`` names (a user's own transforms).
        precision: ``fp32``, ``bf16`` (the fp32 Paddle program run with oneDNN's bfloat16 kernels) or ``int8``
            (an ONNX Runtime QDQ model); every model file of the export has it.
        calibration: int8: the ``split``, ``images`` and ``method`` the activation ranges were calibrated with.
        quantization: int8: the tool, format, types and op types quantized.
        accuracy: bf16/int8: ``AccuracyCost.as_dict()``, what the reduced precision cost on val images
            (``null`` if the export was told not to check, ``--check-images 0``).
    """

    format: str
    files: dict[str, dict[str, str]]
    input_shape: list[int]
    output_op: str
    transforms: list[dict]
    num_classes: int
    class_names: list[str]
    palette: list[list[int]]
    exported_with: dict[str, str] = field(default_factory=dict)
    imports: list[str] = field(default_factory=list)
    precision: str = "fp32"
    calibration: Optional[dict] = None
    quantization: Optional[dict] = None
    accuracy: Optional[dict] = None

    def model_files(self, model_dir: str | os.PathLike, fmt: str) -> dict[str, Path]:
        """Absolute paths of the files of ``fmt``, by role; raises if ``fmt`` was not exported."""
        check_format(fmt)
        if fmt not in self.files:
            raise PaddleFCNError(
                f"{Path(model_dir) / DEPLOY_FILE}: no {fmt} model in this export "
                f"(it has: {', '.join(sorted(self.files))}; export with --format {fmt})"
            )
        return {role: Path(model_dir) / name for role, name in self.files[fmt].items()}


def check_format(fmt: str) -> str:
    """Returns ``fmt`` if it is a supported model format, else raises naming the supported ones."""
    if fmt not in FORMATS:
        raise PaddleFCNError(f"unsupported model format '{fmt}' (supported: {', '.join(FORMATS)})")
    return fmt


def write_deploy_config(model_dir: str | os.PathLike, deploy: DeployConfig) -> Path:
    """Writes ``deploy.yaml`` into ``model_dir`` atomically and returns its path."""
    path = Path(model_dir) / DEPLOY_FILE
    header = "# Written by paddlefcn export; read by paddlefcn.deploy.Predictor. File names are relative to here.\n"
    atomic_write_text(path, header + dump_yaml(asdict(deploy)))
    return path


def read_deploy_config(model_dir: str | os.PathLike) -> DeployConfig:
    """Reads and checks ``model_dir/deploy.yaml``: every key present, the format supported, every named file there.

    Raises:
        PaddleFCNError: One line naming the missing directory, file or key, or the bad value.
    """
    root = Path(os.path.expanduser(str(model_dir)))
    if not root.is_dir():
        raise PaddleFCNError(f"model dir not found: {root}")
    path = root / DEPLOY_FILE
    if not path.is_file():
        raise PaddleFCNError(f"{root} has no {DEPLOY_FILE}; is it a directory written by tools/export.py?")
    data = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    if not isinstance(data, dict):
        raise PaddleFCNError(f"{path}: expected a mapping, got {type(data).__name__}")
    keys = [name for name in DeployConfig.__dataclass_fields__ if name not in OPTIONAL_KEYS]
    missing = [key for key in keys if key not in data]
    if missing:
        raise PaddleFCNError(f"{path}: missing key '{missing[0]}'")
    unknown = sorted(set(data) - set(DeployConfig.__dataclass_fields__))
    if unknown:
        raise PaddleFCNError(f"{path}: unknown key '{unknown[0]}'")
    deploy = DeployConfig(**data)
    _check(deploy, root, path)
    return deploy


def _check(deploy: DeployConfig, root: Path, path: Path) -> None:
    try:
        check_format(deploy.format)
        output_op_check(deploy.output_op, "output_op")
        check_precision(deploy.precision)
    except PaddleFCNError as err:
        raise PaddleFCNError(f"{path}: {err}") from None
    for fmt in deploy.files if isinstance(deploy.files, dict) else ():
        check_backend(deploy.precision, fmt, str(path))
    if not isinstance(deploy.files, dict) or deploy.format not in deploy.files:
        raise PaddleFCNError(f"{path}: 'files' has no entry for its format '{deploy.format}'")
    for fmt, files in deploy.files.items():
        if fmt not in FORMATS:
            supported = ", ".join(FORMATS)
            raise PaddleFCNError(f"{path}: unsupported model format '{fmt}' in 'files' (supported: {supported})")
        for role in FORMAT_FILES[fmt]:
            name = files.get(role) if isinstance(files, dict) else None
            if not isinstance(name, str) or not name:
                raise PaddleFCNError(f"{path}: files.{fmt} names no '{role}' file")
            if not (root / name).is_file():
                raise PaddleFCNError(f"{path} names {fmt} {role} file '{name}', which does not exist in {root}")
    shape = deploy.input_shape
    if not isinstance(shape, list) or len(shape) != 4 or not all(is_int(d) for d in shape):
        raise PaddleFCNError(f"{path}: input_shape must be [N, C, H, W] integers, got {shape!r}")
    count = deploy.num_classes
    check_int(count, f"{path}: num_classes", error=PaddleFCNError)
    for key in ("class_names", "palette"):
        value = getattr(deploy, key)
        if not isinstance(value, list) or len(value) != count:
            raise PaddleFCNError(f"{path}: {key} must be a list of {count} entries, one per class")
    for index, colour in enumerate(deploy.palette):
        is_rgb = isinstance(colour, list) and len(colour) == 3
        if not is_rgb or not all(is_int(v) and 0 <= v <= 255 for v in colour):
            raise PaddleFCNError(f"{path}: palette[{index}] must be [r, g, b] integers in 0..255, got {colour!r}")
    if not isinstance(deploy.transforms, list):
        raise PaddleFCNError(f"{path}: transforms must be a list of {{type: ...}} mappings")
