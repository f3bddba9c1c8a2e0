"""VGG16 made fully convolutional: fc6/fc7 become convolutions, as in the FCN paper."""

from __future__ import annotations

from typing import Optional

import paddle
from paddle import nn
from paddle.vision.models import vgg16

from paddlefcn.errors import PaddleFCNError
from paddlefcn.models.backbones.base import Backbone, FeatureSpec, load_vision_weights
from paddlefcn.registry import BACKBONES

# Indices into paddle.vision's vgg16().features that end pool3, pool4 and pool5.
_POOL3, _POOL4, _POOL5 = 17, 24, 31
_CLASSIFIER_WIDTH = 4096


@BACKBONES.register()
class VGG16(Backbone):
    """VGG16 with features pool3 (stride 8), pool4 (16) and fc7 (32).

    fc6 is a 7x7 convolution with padding 3 and fc7 a 1x1 convolution, each followed by ReLU and
    dropout. With pretrained weights they are the ImageNet classifier's first two Linear layers
    reshaped into convolutions.

    Args:
        pretrained: ``None``, ``"imagenet"`` or a path to a ``paddle.vision`` vgg16 ``.pdparams``.
        fc_channels: Width of fc6/fc7; must be 4096 to load classifier weights.
        dropout: Dropout probability after fc6 and fc7.
    """

    def __init__(
        self, pretrained: Optional[str] = None, fc_channels: int = _CLASSIFIER_WIDTH, dropout: float = 0.5
    ) -> None:
        super().__init__()
        if pretrained is not None and fc_channels != _CLASSIFIER_WIDTH:
            raise PaddleFCNError(
                f"VGG16: fc_channels={fc_channels} cannot take pretrained classifier weights (needs 4096)"
            )
        # Without weights to convert, skip building the 100M-parameter classifier.
        net = vgg16() if pretrained is not None else vgg16(num_classes=0, with_pool=False)
        load_vision_weights(net, pretrained, lambda: vgg16(pretrained=True))
        features = list(net.features.children())
        self.to_pool3 = nn.Sequential(*features[:_POOL3])
        self.to_pool4 = nn.Sequential(*features[_POOL3:_POOL4])
        self.to_pool5 = nn.Sequential(*features[_POOL4:_POOL5])
        self.fc6 = nn.Conv2D(512, fc_channels, 7, padding=3)
        self.fc7 = nn.Conv2D(fc_channels, fc_channels, 1)
        self.relu = nn.ReLU()
        self.drop6 = nn.Dropout(dropout)
        self.drop7 = nn.Dropout(dropout)
        if pretrained is not None:
            self._convolutionalize(net.classifier[0], net.classifier[3])
        self.feature_specs = [
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
        pool3 = self.to_pool3(x)
        pool4 = self.to_pool4(pool3)
        fc6 = self.drop6(self.relu(self.fc6(self.to_pool5(pool4))))
        fc7 = self.drop7(self.relu(self.fc7(fc6)))
        return [pool3, pool4, fc7]
