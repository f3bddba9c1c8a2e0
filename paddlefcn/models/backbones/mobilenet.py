"""MobileNetV2 and MobileNetV3 (small, large) from ``paddle.vision``, publishing the last layer at each stride."""

from __future__ import annotations

from typing import Callable, Optional

import paddle
from paddle import nn
from paddle.vision.models import mobilenet_v2, mobilenet_v3_large, mobilenet_v3_small

from paddlefcn.checks import check_number
from paddlefcn.errors import PaddleFCNError
from paddlefcn.models.backbones.base import Backbone, FeatureSpec, load_vision_weights
from paddlefcn.registry import BACKBONES

# (name in the paddle.vision model, layer, stride of the layer alone)
Layers = list[tuple[str, nn.Layer, int]]


class _MobileNet(Backbone):
    """A ``paddle.vision`` MobileNet without its classifier, in four stages ending at the last layer of each stride.

    The stages end at strides 4, 8, 16 and 32; each feature is named by its last layer's path in the
    ``paddle.vision`` model.

    Args:
        pretrained: ``None``, ``"imagenet"`` or a path to the ``.pdparams`` of the same ``paddle.vision``
            classifier (e.g. ``mobilenet_v2(scale=...)``).
        scale: Width multiplier of every layer; ImageNet weights exist for 1.0 only.
        bn_momentum: Momentum of every batch norm's running statistics; default ``paddle.vision``'s (0.9 for V2,
            0.99 for V3). 0.99 makes the statistics lag the weights by about 100 iterations, which a short run
            from scratch cannot afford (docs/camvid.md).
    """

    factory: Callable[..., nn.Layer]
    named_layers: Callable[[nn.Layer], Layers]

    def __init__(
        self, pretrained: Optional[str] = None, scale: float = 1.0, bn_momentum: Optional[float] = None
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_number(scale, f"{name}: scale", positive=True, error=PaddleFCNError)
        if pretrained == "imagenet" and scale != 1.0:
            raise PaddleFCNError(f"{name}: ImageNet weights exist for scale 1.0 only, got scale {scale}")
        net = self.factory(scale=scale)
        load_vision_weights(net, pretrained, lambda: self.factory(pretrained=True))
        if bn_momentum is not None:
            momentum = check_number(bn_momentum, f"{name}: bn_momentum", error=PaddleFCNError)
            if not 0 <= momentum < 1:
                raise PaddleFCNError(f"{name}: bn_momentum must be in [0, 1), got {bn_momentum}")
            for norm in net.sublayers():
                if isinstance(norm, nn.BatchNorm2D):
                    norm._momentum = momentum  # read by every forward; paddle.vision has no argument for it
        self.stages = nn.LayerList()
        self.feature_specs = []
        named = self.named_layers(net)
        stage, stride = [], 1
        for i, (layer_name, layer, layer_stride) in enumerate(named):
            stage.append(layer)
            stride *= layer_stride
            last_at_stride = i + 1 == len(named) or named[i + 1][2] != 1
            if last_at_stride and stride >= 4:
                self.stages.append(nn.Sequential(*stage))
                self.feature_specs.append(FeatureSpec(layer_name, _out_channels(layer), stride))
                stage = []

    def forward(self, x: paddle.Tensor) -> list[paddle.Tensor]:
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


def _out_channels(layer: nn.Layer) -> int:
    # Every MobileNet layer ends with a batch norm (before any activation or residual sum).
    return [norm for norm in layer.sublayers() if isinstance(norm, nn.BatchNorm2D)][-1].weight.shape[0]


def _v2_layers(net: nn.Layer) -> Layers:
    features = list(net.features.children())  # stem conv, 17 inverted residuals, 1x1 conv to 1280
    strides = [2] + [block.stride for block in features[1:-1]] + [1]
    return [(f"features.{i}", layer, stride) for i, (layer, stride) in enumerate(zip(features, strides))]


def _v3_layers(net: nn.Layer) -> Layers:
    blocks = zip(net.blocks.children(), net.config)
    named = [(f"blocks.{i}", block, cfg.stride) for i, (block, cfg) in enumerate(blocks)]
    return [("conv", net.conv, 2), *named, ("lastconv", net.lastconv, 1)]


@BACKBONES.register()
class MobileNetV2(_MobileNet):
    """MobileNetV2 (``paddle.vision.models.mobilenet_v2``): features.3, .6, .13 and .18 (24, 32, 96, 1280 channels)."""

    factory = staticmethod(mobilenet_v2)
    named_layers = staticmethod(_v2_layers)


@BACKBONES.register()
class MobileNetV3Small(_MobileNet):
    """MobileNetV3-Small (``paddle.vision.models.mobilenet_v3_small``): blocks.0, .2, .7 and lastconv (16, 24, 48,
    576 channels)."""

    factory = staticmethod(mobilenet_v3_small)
    named_layers = staticmethod(_v3_layers)


@BACKBONES.register()
class MobileNetV3Large(_MobileNet):
    """MobileNetV3-Large (``paddle.vision.models.mobilenet_v3_large``): blocks.2, .5, .11 and lastconv (24, 40, 112,
    960 channels)."""

    factory = staticmethod(mobilenet_v3_large)
    named_layers = staticmethod(_v3_layers)
