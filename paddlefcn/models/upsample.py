"""Learnable and fixed upsamplers for FCN heads.

Two transposed-convolution schemes give exactly ``factor`` times the input size:

* ``"4x/2x/x"``: kernel ``2f``, stride ``f``, padding ``f/2``; neighbouring kernels overlap, and the
  bilinear init reproduces bilinear interpolation (gain 1).
* ``"2x/2x"``: kernel ``f``, stride ``f``, no padding; kernels tile the output without overlap. The
  classic bilinear kernel then scales the signal by about 1/4, while the ``nearest`` init (all ones)
  is nearest-neighbour upsampling with gain 1.
"""

from __future__ import annotations

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle import nn

from paddlefcn.errors import PaddleFCNError
from paddlefcn.registry import UPSAMPLERS

SCHEMES = ("4x/2x/x", "2x/2x")
INITS = ("bilinear", "nearest", "random")


def bilinear_kernel(size: int) -> np.ndarray:
    """The classic 2-D bilinear interpolation kernel of side ``size`` (as in Caffe's filler)."""
    half = (size + 1) // 2
    centre = half - 1 if size % 2 == 1 else half - 0.5
    ramp = 1 - np.abs(np.arange(size) - centre) / half
    return np.outer(ramp, ramp).astype("float32")


def nearest_kernel(size: int, factor: int) -> np.ndarray:
    """A kernel of side ``size`` that copies each input pixel to its ``factor`` x ``factor`` block."""
    kernel = np.zeros((size, size), dtype="float32")
    start = (size - factor) // 2
    kernel[start : start + factor, start : start + factor] = 1.0
    return kernel


def scheme_geometry(scheme: str, factor: int) -> tuple[int, int, int]:
    """(kernel, stride, padding) of ``scheme`` for an up-factor ``factor``."""
    if scheme not in SCHEMES:
        raise PaddleFCNError(f"unknown upsampler scheme '{scheme}' (known: {', '.join(SCHEMES)})")
    if factor < 2:
        raise PaddleFCNError(f"upsampler factor must be >= 2, got {factor}")
    if scheme == "4x/2x/x" and factor % 2:
        raise PaddleFCNError(f"upsampler scheme '4x/2x/x' needs an even factor, got {factor}")
    if scheme == "4x/2x/x":
        return 2 * factor, factor, factor // 2
    return factor, factor, 0


@UPSAMPLERS.register()
class TransposedConv(nn.Layer):
    """A ``channels`` -> ``channels`` transposed convolution (no bias) that upsamples by ``factor``.

    Args:
        channels: Input and output channels (the class scores).
        factor: Up-factor; the output is exactly ``factor`` times the input size.
        scheme: ``"4x/2x/x"`` or ``"2x/2x"``.
        init: ``"bilinear"``, ``"nearest"`` (each channel on the diagonal) or ``"random"`` (Paddle's
            default initialiser).
        learnable: ``False`` freezes the weights.
    """

    def __init__(
        self, channels: int, factor: int, scheme: str = "4x/2x/x", init: str = "bilinear", learnable: bool = True
    ) -> None:
        super().__init__()
        if init not in INITS:
            raise PaddleFCNError(f"unknown upsampler init '{init}' (known: {', '.join(INITS)})")
        kernel, stride, padding = scheme_geometry(scheme, factor)
        self.factor, self.scheme, self.init = factor, scheme, init
        self.deconv = nn.Conv2DTranspose(channels, channels, kernel, stride=stride, padding=padding, bias_attr=False)
        if init != "random":
            tile = bilinear_kernel(kernel) if init == "bilinear" else nearest_kernel(kernel, factor)
            weight = np.zeros(self.deconv.weight.shape, dtype="float32")
            weight[np.arange(channels), np.arange(channels)] = tile
            self.deconv.weight.set_value(weight)
        self.deconv.weight.stop_gradient = not learnable

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.deconv(x)

    def extra_repr(self) -> str:
        return f"factor={self.factor}, scheme={self.scheme}, init={self.init}"


@UPSAMPLERS.register()
class Interpolate(nn.Layer):
    """Fixed bilinear resize by ``factor`` (no weights): the baseline for the learned upsamplers.

    Args:
        channels: Unused; accepted so every upsampler is built the same way.
        factor: Up-factor.
    """

    def __init__(self, channels: int, factor: int) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return F.interpolate(x, scale_factor=self.factor, mode="bilinear", align_corners=False)

    def extra_repr(self) -> str:
        return f"factor={self.factor}"


DEFAULT_UPSAMPLER = "TransposedConv"


def build_upsampler(cfg: dict, channels: int, factor: int) -> nn.Layer:
    """Builds an upsampler from its config; ``type`` defaults to ``DEFAULT_UPSAMPLER``."""
    return UPSAMPLERS.build({"type": DEFAULT_UPSAMPLER, **cfg}, channels=channels, factor=factor)
