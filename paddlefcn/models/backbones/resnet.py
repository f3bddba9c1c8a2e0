"""ResNet34 from ``paddle.vision``, publishing its four stages."""

from __future__ import annotations

from typing import Optional

import paddle
from paddle.vision.models import resnet34

from paddlefcn.models.backbones.base import Backbone, FeatureSpec, load_vision_weights
from paddlefcn.registry import BACKBONES


@BACKBONES.register()
class ResNet34(Backbone):
    """ResNet-34 with features at strides 4, 8, 16 and 32.

    Args:
        pretrained: ``None``, ``"imagenet"`` or a path to a ``paddle.vision`` resnet34 ``.pdparams``.
    """

    def __init__(self, pretrained: Optional[str] = None) -> None:
        super().__init__()
        net = resnet34()
        load_vision_weights(net, pretrained, lambda: resnet34(pretrained=True))
        self.stem = paddle.nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        self.feature_specs = [
            FeatureSpec("layer1", 64, 4),
            FeatureSpec("layer2", 128, 8),
            FeatureSpec("layer3", 256, 16),
            FeatureSpec("layer4", 512, 32),
        ]

    def forward(self, x: paddle.Tensor) -> list[paddle.Tensor]:
        c1 = self.layer1(self.stem(x))
        c2 = self.layer2(c1)
        c3 = self.layer3(c2)
        return [c1, c2, c3, self.layer4(c3)]
