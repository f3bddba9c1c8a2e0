"""The FCN segmentor: backbone + head, for inputs of any size."""

from __future__ import annotations

import paddle
from paddle import nn

from paddlefcn.checks import check_int
from paddlefcn.errors import ConfigError, PaddleFCNError
from paddlefcn.registry import BACKBONES, HEADS

# The coarsest stride of every backbone; inputs are padded to a multiple of it.
OUTPUT_STRIDE = 32


class FCN(nn.Layer):
    """Backbone and head; returns logits ``[N, C, H, W]`` at the input's own size.

    The input is zero-padded at the bottom and right to a multiple of 32 (zero is the mean colour
    after normalisation), so every stride divides it exactly, and the logits are cropped back.

    Args:
        backbone: A ``Backbone``.
        head: A head taking the backbone's feature list.
        num_classes: Number of output classes.
    """

    def __init__(self, backbone: nn.Layer, head: nn.Layer, num_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.num_classes = num_classes

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        height, width = paddle.shape(x)[2], paddle.shape(x)[3]
        logits = self.head(self.backbone(pad_to_stride(x)))
        return logits[:, :, :height, :width]


def pad_to_stride(x: paddle.Tensor) -> paddle.Tensor:
    """Zero-pads ``[N, C, H, W]`` at the bottom and right to multiples of ``OUTPUT_STRIDE``.

    The padding is built by concatenation, with shapes computed in the graph so exported models keep
    dynamic sizes; ``F.pad`` is avoided because paddle2onnx 2.1 converts Paddle 3's ``pad3d`` without
    its pad value, which would corrupt every exported ONNX model's border.
    """
    shape = paddle.shape(x)
    batch, channels, height, width = shape[0], shape[1], shape[2], shape[3]
    pad_h = (OUTPUT_STRIDE - height % OUTPUT_STRIDE) % OUTPUT_STRIDE
    pad_w = (OUTPUT_STRIDE - width % OUTPUT_STRIDE) % OUTPUT_STRIDE
    x = paddle.concat([x, paddle.zeros(paddle.stack([batch, channels, pad_h, width]), x.dtype)], axis=2)
    return paddle.concat([x, paddle.zeros(paddle.stack([batch, channels, height + pad_h, pad_w]), x.dtype)], axis=3)


def build_model(model_cfg: dict) -> FCN:
    """Builds an FCN from the ``model`` section of a config."""
    if not isinstance(model_cfg, dict):
        raise PaddleFCNError(f"'model' must be a mapping, got {model_cfg!r}")
    for key in ("num_classes", "backbone", "head"):
        if key not in model_cfg:
            raise ConfigError(f"model: missing required key 'model.{key}'")
    num_classes = check_int(model_cfg["num_classes"], "model.num_classes")
    backbone = BACKBONES.build(model_cfg["backbone"])
    head = HEADS.build(model_cfg["head"], feature_specs=backbone.feature_specs, num_classes=num_classes)
    return FCN(backbone, head, num_classes)
