"""A head that classifies one feature map at its own stride: the usual auxiliary head."""

from __future__ import annotations

from typing import Sequence

import paddle
from paddle import nn

from paddlefcn.checks import check_int, check_number
from paddlefcn.models.backbones.base import FeatureSpec
from paddlefcn.models.heads.base import FeatureKey, Head
from paddlefcn.registry import HEADS


@HEADS.register()
class ConvHead(Head):
    """``num_convs`` 3x3 conv + BN + ReLU blocks, dropout and a 1x1 classifier on one feature, at its stride.

    The segmentor resizes the logits to the input size. As an auxiliary head (``model.aux_heads``) on a
    stride-16 feature it adds the deep supervision PSPNet and DeepLab train with.

    Args:
        feature_specs: The backbone's published features.
        num_classes: Number of output classes.
        feature: The feature classified, by name or stride.
        channels: Width of the conv blocks.
        num_convs: Number of conv blocks (0: the classifier alone).
        dropout: Dropout probability before the classifier.
    """

    def __init__(
        self,
        feature_specs: Sequence[FeatureSpec],
        num_classes: int,
        feature: FeatureKey = 16,
        channels: int = 256,
        num_convs: int = 1,
        dropout: float = 0.1,
    ) -> None:
        super().__init__(feature_specs, num_classes)
        self.index, spec = self.select(feature)
        check_int(channels, "ConvHead channels")
        check_int(num_convs, "ConvHead num_convs", minimum=0)
        blocks, width = [], spec.channels
        for _ in range(num_convs):
            blocks += [nn.Conv2D(width, channels, 3, padding=1, bias_attr=False), nn.BatchNorm2D(channels), nn.ReLU()]
            width = channels
        self.convs = nn.Sequential(*blocks)
        self.dropout = nn.Dropout2D(check_number(dropout, "ConvHead dropout"))
        self.classifier = nn.Conv2D(width, num_classes, 1)

    def forward(self, features: list[paddle.Tensor]) -> paddle.Tensor:
        return self.classifier(self.dropout(self.convs(features[self.index])))
