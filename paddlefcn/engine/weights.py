"""Loading trained model weights from a ``.pdparams`` file or a checkpoint directory."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import paddle
from paddle import nn

from paddlefcn.errors import PaddleFCNError
from paddlefcn.models import FCN, build_model

WEIGHTS_FILE = "model.pdparams"


def resolve_weights_path(path: str | os.PathLike) -> Path:
    """The weights file named by ``path``: the file itself, or ``model.pdparams`` inside a directory."""
    target = Path(os.path.expanduser(str(path)))
    if target.is_dir():
        inside = target / WEIGHTS_FILE
        if inside.is_file():
            return inside
        hints = [str(target / sub) for sub in ("best", "latest") if (target / sub / WEIGHTS_FILE).is_file()]
        hint = f"; did you mean {hints[0]}?" if hints else ""
        raise PaddleFCNError(f"weights not found: {target} has no {WEIGHTS_FILE}{hint}")
    if not target.is_file():
        raise PaddleFCNError(f"weights not found: {target}")
    return target


def load_model_weights(model: nn.Layer, path: str | os.PathLike) -> Path:
    """Loads weights into ``model``, requiring exactly its keys and shapes.

    Args:
        model: The freshly built model.
        path: A ``.pdparams`` file or a checkpoint directory holding ``model.pdparams``
            (``<save_dir>/checkpoints/iter_<N>`` or ``<save_dir>/best``).

    Returns:
        The file that was loaded.
    """
    file = resolve_weights_path(path)
    try:
        state = paddle.load(str(file))
    except Exception as err:  # paddle raises several types for a corrupt or foreign file
        raise PaddleFCNError(f"{file}: cannot read weights ({type(err).__name__}: {err})") from err
    if not isinstance(state, dict):
        raise PaddleFCNError(f"{file}: expected a state dict, got {type(state).__name__}")
    expected = model.state_dict()
    missing = [key for key in expected if key not in state]
    if missing:
        raise PaddleFCNError(
            f"{file}: {len(missing)} weights of the model are missing, first '{missing[0]}' (wrong model config?)"
        )
    unexpected = [key for key in state if key not in expected]
    if unexpected:
        raise PaddleFCNError(
            f"{file}: {len(unexpected)} weights do not belong to the model, first '{unexpected[0]}' "
            "(wrong model config?)"
        )
    for key, param in expected.items():
        value = state[key]
        if not hasattr(value, "shape") or not hasattr(value, "dtype"):
            raise PaddleFCNError(f"{file}: weight '{key}' is of type {type(value).__name__}, not an array")
        have, want = list(value.shape), list(param.shape)
        if have != want:
            raise PaddleFCNError(
                f"{file}: weight '{key}' has shape {have}, the model needs {want} (wrong num_classes?)"
            )
        if _dtype_name(value) != _dtype_name(param):
            raise PaddleFCNError(
                f"{file}: weight '{key}' is {_dtype_name(value)}, the model needs {_dtype_name(param)}"
            )
    model.set_state_dict(state)
    return file


def _dtype_name(array: object) -> str:
    """``float32`` for a Paddle tensor or a NumPy array of that type."""
    return str(array.dtype).removeprefix("paddle.")


def load_trained_model(model_cfg: dict, path: str | os.PathLike) -> FCN:
    """Builds the model of a config without its pretrained backbone, loads trained weights and sets eval mode.

    Args:
        model_cfg: The ``model`` section; ``backbone.pretrained`` is ignored (nothing is downloaded).
        path: As for ``load_model_weights``.
    """
    file = resolve_weights_path(path)
    cfg = copy.deepcopy(model_cfg)
    if isinstance(cfg, dict):
        cfg.pop("pretrained", None)
        if isinstance(cfg.get("backbone"), dict):
            cfg["backbone"]["pretrained"] = None
    model = build_model(cfg)
    load_model_weights(model, file)
    model.eval()
    return model
