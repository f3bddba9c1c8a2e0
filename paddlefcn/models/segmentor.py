"""The FCN segmentor: backbone + head, for inputs of any size."""

from __future__ import annotations

from typing import Sequence, Union

import paddle
import paddle.nn.functional as F
from paddle import nn

from paddlefcn.checks import check_int, check_number
from paddlefcn.errors import ConfigError, PaddleFCNError
from paddlefcn.models.backbones.base import check_feature_specs
from paddlefcn.registry import BACKBONES, HEADS

# The coarsest stride of every backbone; inputs are padded to a multiple of it.
OUTPUT_STRIDE = 32
AUX_LOSS_WEIGHT = 0.4  # of an auxiliary head's loss, when its config gives none (as PSPNet and mmseg use)


class FCN(nn.Layer):
    """Backbone, head and optional auxiliary heads; returns logits ``[N, C, H, W]`` at the input's own size.

    The input is zero-padded at the bottom and right to a multiple of 32 (zero is the mean colour
    after normalisation), so every stride divides it exactly. Logits of a head that works at a stride are
    resized (bilinear) to the padded size; all are cropped back to the input size. In training mode with
    auxiliary heads, ``forward`` returns ``[main logits, aux logits, ...]``; in eval mode only the main logits.

    Args:
        backbone: A ``Backbone``.
        head: A ``Head`` taking the backbone's feature list.
        num_classes: Number of output classes.
        aux_heads: Heads trained alongside (deep supervision), not used in eval mode nor exported.
    """

    def __init__(
        self, backbone: nn.Layer, head: nn.Layer, num_classes: int, aux_heads: Sequence[nn.Layer] = ()
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.num_classes = num_classes
        self.aux_heads = nn.LayerList(list(aux_heads)) if aux_heads else None

    def forward(self, x: paddle.Tensor) -> Union[paddle.Tensor, list[paddle.Tensor]]:
        height, width = paddle.shape(x)[2], paddle.shape(x)[3]
        padded = pad_to_stride(x)
        features = self.backbone(padded)
        size = paddle.shape(padded)[2:]
        logits = _to_input(self.head, features, size)[:, :, :height, :width]
        if not self.training or self.aux_heads is None:
            return logits
        return [logits, *(_to_input(head, features, size)[:, :, :height, :width] for head in self.aux_heads)]

    def without_aux(self) -> FCN:
        """The same backbone and head (shared, not copied) without the auxiliary heads: what is exported."""
        return FCN(self.backbone, self.head, self.num_classes)


def _to_input(head: nn.Layer, features: list[paddle.Tensor], size: paddle.Tensor) -> paddle.Tensor:
    """The head's logits at the padded input ``size``."""
    logits = head(features)
    if getattr(head, "full_resolution", False):
        return logits
    return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)


def pad_to_stride(x: paddle.Tensor) -> paddle.Tensor:
    """Zero-pads ``[N, C, H, W]`` at the bottom and right to multiples of ``OUTPUT_STRIDE``.

    The padding is built by concatenation, with shapes computed in the graph so exported models keep
    dynamic sizes; ``F.pad`` is avoided because paddle2onnx 2.1 converts Paddle 3's ``pad3d`` without
    its pad value, which would corrupt every exported ONNX model's border. The zeros concatenated are
    ``OUTPUT_STRIDE`` rows and columns, then cut to size: a zero-size tensor (an input side that is
    already a multiple) makes Paddle Inference 3.3's oneDNN bf16 pass fail at the first run.
    """
    shape = paddle.shape(x)
    batch, channels, height, width = shape[0], shape[1], shape[2], shape[3]
    stride = paddle.full_like(height, OUTPUT_STRIDE)
    padded_h = height + (OUTPUT_STRIDE - height % OUTPUT_STRIDE) % OUTPUT_STRIDE
    padded_w = width + (OUTPUT_STRIDE - width % OUTPUT_STRIDE) % OUTPUT_STRIDE
    x = paddle.concat([x, paddle.zeros(paddle.stack([batch, channels, stride, width]), x.dtype)], axis=2)
    x = x[:, :, :padded_h]
    x = paddle.concat([x, paddle.zeros(paddle.stack([batch, channels, padded_h, stride]), x.dtype)], axis=3)
    return x[:, :, :, :padded_w]


def build_model(model_cfg: dict) -> FCN:
    """Builds an FCN from the ``model`` section of a config (``num_classes``, ``backbone``, ``head``, ``aux_heads``).

    Each ``aux_heads`` entry is a head config with a ``loss_weight`` (used by the loss, see ``loss_config``).
    """
    if not isinstance(model_cfg, dict):
        raise PaddleFCNError(f"'model' must be a mapping, got {model_cfg!r}")
    for key in ("num_classes", "backbone", "head"):
        if key not in model_cfg:
            raise ConfigError(f"model: missing required key 'model.{key}'")
    num_classes = check_int(model_cfg["num_classes"], "model.num_classes")
    backbone = BACKBONES.build(model_cfg["backbone"])
    check_feature_specs(backbone, model_cfg["backbone"]["type"])
    specs = {"feature_specs": backbone.feature_specs, "num_classes": num_classes}
    head = HEADS.build(model_cfg["head"], **specs)
    aux_heads = [HEADS.build(_without_loss_weight(cfg), **specs) for cfg in aux_head_configs(model_cfg)]
    return FCN(backbone, head, num_classes, aux_heads)


def aux_head_configs(model_cfg: dict) -> list[dict]:
    """The ``model.aux_heads`` entries, checked: each a head config with a positive ``loss_weight``."""
    entries = model_cfg.get("aux_heads") or []
    if not isinstance(entries, list):
        raise ConfigError(f"model.aux_heads must be a list of head configs, got {entries!r}")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "type" not in entry:
            raise ConfigError(f"model.aux_heads[{i}] must be a head config with a 'type', got {entry!r}")
        check_number(entry.get("loss_weight", AUX_LOSS_WEIGHT), f"model.aux_heads[{i}].loss_weight", positive=True)
    return entries


def aux_loss_weights(model_cfg: dict) -> list[float]:
    """The loss weight of each auxiliary head, in order."""
    return [float(cfg.get("loss_weight", AUX_LOSS_WEIGHT)) for cfg in aux_head_configs(model_cfg)]


def _without_loss_weight(cfg: dict) -> dict:
    return {key: value for key, value in cfg.items() if key != "loss_weight"}
