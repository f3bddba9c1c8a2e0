"""VGG-11 to VGG-19 made fully convolutional: fc6/fc7 become convolutions, as in the FCN paper."""

from __future__ import annotations

from typing import Callable, Iterable, Optional

import paddle
from paddle import nn
from paddle.vision.models import VGG, vgg11, vgg13, vgg16, vgg19

from paddlefcn.errors import PaddleFCNError
from paddlefcn.models.backbones.base import Backbone, FeatureSpec, load_vision_weights
from paddlefcn.registry import BACKBONES

_CLASSIFIER_WIDTH = 4096


class _VGG(Backbone):
    """A ``paddle.vision`` VGG (no batch norm) with features pool2 (stride 4), pool3 (8), pool4 (16) and fc7 (32).

    fc6 is a 7x7 convolution with padding 3 and fc7 a 1x1 convolution, each followed by ReLU and
    dropout. With pretrained weights they are the ImageNet classifier's first two Linear layers
    reshaped into convolutions.

    Args:
        pretrained: ``None``, ``"imagenet"`` (VGG16 and VGG19 only: paddle.vision has no VGG11/VGG13
            weights) or a path to the ``.pdparams`` of the same ``paddle.vision`` classifier (e.g. ``vgg11()``).
        fc_channels: Width of fc6/fc7; must be 4096 to load classifier weights.
        dropout: Dropout probability after fc6 and fc7.
    """

    factory: Callable[..., VGG]
    has_imagenet_weights = True

    def __init__(
        self, pretrained: Optional[str] = None, fc_channels: int = _CLASSIFIER_WIDTH, dropout: float = 0.5
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if pretrained == "imagenet" and not self.has_imagenet_weights:
            raise PaddleFCNError(
                f"{name}: paddle.vision has no ImageNet weights for {self.factory.__name__} "
                "(use null or a .pdparams path)"
            )
        if pretrained is not None and fc_channels != _CLASSIFIER_WIDTH:
            raise PaddleFCNError(
                f"{name}: fc_channels={fc_channels} cannot take pretrained classifier weights "
                f"(needs {_CLASSIFIER_WIDTH})"
            )
        # Without weights to convert, skip building the 100M-parameter classifier.
        net = self.factory() if pretrained is not None else self.factory(num_classes=0, with_pool=False)
        load_vision_weights(net, pretrained, lambda: self.factory(pretrained=True))
        features = list(net.features.children())
        # End (exclusive) of pool1 .. pool5 in ``features``.
        ends = [i + 1 for i, layer in enumerate(features) if isinstance(layer, nn.MaxPool2D)]
        self._pool2_end = ends[1]
        self.to_pool3 = nn.Sequential(*features[: ends[2]])
        self.to_pool4 = nn.Sequential(*features[ends[2] : ends[3]])
        self.to_pool5 = nn.Sequential(*features[ends[3] : ends[4]])
        self.fc6 = nn.Conv2D(512, fc_channels, 7, padding=3)
        self.fc7 = nn.Conv2D(fc_channels, fc_channels, 1)
        self.relu = nn.ReLU()
        self.drop6 = nn.Dropout(dropout)
        self.drop7 = nn.Dropout(dropout)
        if pretrained is not None:
            self._convolutionalize(net.classifier[0], net.classifier[3])
        self.feature_specs = [
            FeatureSpec("pool2", 128, 4),
            FeatureSpec("pool3", 256, 8),
            FeatureSpec("pool4", 512, 16),
            FeatureSpec("fc7", fc_channels, 32),
        ]

    def _convolutionalize(self, fc6: nn.Linear, fc7: nn.Linear) -> None:
        # paddle Linear weights are [in, out]; the flattened input is pool5 in C, H, W order.
        self.fc6.weight.set_value(fc6.weight.T.reshape(self.fc6.weight.shape))
        self.fc6.bias.set_value(fc6.bias)
        self.fc7.weight.set_value(fc7.weight.T.reshape(self.fc7.weight.shape))
        self.fc7.bias.set_value(fc7.bias)

    def forward(self, x: paddle.Tensor) -> list[paddle.Tensor]:
        # pool2 is taken inside to_pool3, whose layout (and so the checkpoint keys) predates it.
        to_pool3 = list(self.to_pool3.children())
        pool2 = _chain(to_pool3[: self._pool2_end], x)
        pool3 = _chain(to_pool3[self._pool2_end :], pool2)
        pool4 = self.to_pool4(pool3)
        fc6 = self.drop6(self.relu(self.fc6(self.to_pool5(pool4))))
        fc7 = self.drop7(self.relu(self.fc7(fc6)))
        return [pool2, pool3, pool4, fc7]


def _chain(layers: Iterable[nn.Layer], x: paddle.Tensor) -> paddle.Tensor:
    for layer in layers:
        x = layer(x)
    return x


@BACKBONES.register()
class VGG11(_VGG):
    """VGG-11 (``paddle.vision.models.vgg11``, configuration A), convolutionalized; no ImageNet weights."""

    factory = staticmethod(vgg11)
    has_imagenet_weights = False


@BACKBONES.register()
class VGG13(_VGG):
    """VGG-13 (``paddle.vision.models.vgg13``, configuration B), convolutionalized; no ImageNet weights."""

    factory = staticmethod(vgg13)
    has_imagenet_weights = False


@BACKBONES.register()
class VGG16(_VGG):
    """VGG-16 (``paddle.vision.models.vgg16``, configuration D), convolutionalized."""

    factory = staticmethod(vgg16)


@BACKBONES.register()
class VGG19(_VGG):
    """VGG-19 (``paddle.vision.models.vgg19``, configuration E), convolutionalized."""

    factory = staticmethod(vgg19)
