"""Converting a saved Paddle inference model to ONNX with paddle2onnx (1.x for Paddle 2.6, 2.x for Paddle 3.x).

Both major versions take ``export(model_file, params_file, save_file, opset_version=...)``. Version 2.x reads
Paddle 3's PIR ``model.json`` directly; version 1.x reads ``model.pdmodel``. The input keeps its dynamic
dimensions (``-1`` in the Paddle program becomes a symbolic ONNX dimension).
"""

from __future__ import annotations

import inspect
from pathlib import Path

from paddlefcn.errors import PaddleFCNError

# 11 is the first opset with a tensor-valued Pad; 13 is widely supported by ONNX Runtime and TensorRT.
OPSET = 13


def require_onnx_packages() -> str:
    """Returns the paddle2onnx version; raises one line if paddle2onnx or onnxruntime is missing."""
    try:
        import onnxruntime  # noqa: F401  (needed to check the converted model)
        import paddle2onnx
    except ImportError as err:
        raise PaddleFCNError(
            f"--format onnx needs paddle2onnx and onnxruntime ({err.name} is missing): pip install 'paddlefcn[onnx]'"
        ) from err
    return str(getattr(paddle2onnx, "__version__", "unknown"))


def convert_to_onnx(model_file: Path, params_file: Path, save_file: Path) -> Path:
    """Converts ``model_file`` + ``params_file`` to ``save_file`` and returns it.

    Raises:
        PaddleFCNError: paddle2onnx failed; the message names its version and the reason.
    """
    import paddle2onnx

    version = getattr(paddle2onnx, "__version__", "unknown")
    kwargs = {"opset_version": OPSET, "enable_onnx_checker": True}
    if "optimize_tool" in inspect.signature(paddle2onnx.export).parameters:
        # 2.x post-processes with polygraphy by default, which pip-installs packages at run time, and its
        # onnxoptimizer option fails in 2.1.0 (an unknown pass name); ONNX Runtime folds constants itself.
        kwargs["optimize_tool"] = "none"
    try:
        paddle2onnx.export(str(model_file), str(params_file), str(save_file), **kwargs)
    except Exception as err:  # paddle2onnx raises assorted types, or none and writes nothing
        raise PaddleFCNError(
            f"paddle2onnx {version} cannot convert {model_file.name}: {type(err).__name__}: {err}"
        ) from err
    if not save_file.is_file() or save_file.stat().st_size == 0:
        raise PaddleFCNError(f"paddle2onnx {version} wrote no model for {model_file.name} (see its log above)")
    return save_file
