"""ResNet-18 to ResNet-152 from ``paddle.vision``, publishing their four stages; ResNet-50 and deeper can be dilated."""

from __future__ import annotations

from typing import Callable, Optional

import paddle
from paddle import nn
from paddle.vision.models import ResNet, resnet18, resnet34, resnet50, resnet101, resnet152
from paddle.vision.models.resnet import BottleneckBlock

from paddlefcn.checks import is_int
from paddlefcn.errors import PaddleFCNError
from paddlefcn.models.backbones.base import Backbone, FeatureSpec, load_vision_weights
from paddlefcn.registry import BACKBONES

OUTPUT_STRIDES = (8, 16, 32)


class _ResNet(Backbone):
    """A ``paddle.vision`` ResNet without its classifier: features layer1 (stride 4) to layer4 (32).

    With ``output_stride`` 16 or 8 the last stages keep their resolution and dilate their 3x3 convolutions
    instead, as DeepLab and torchvision's ``replace_stride_with_dilation`` do; the parameters keep their
    shapes, so ImageNet weights load unchanged.

    Args:
        pretrained: ``None``, ``"imagenet"`` or a path to the ``.pdparams`` of the same ``paddle.vision``
            classifier (e.g. ``resnet50()``).
        output_stride: 32, or for bottleneck ResNets (50 and deeper) also 16 or 8.
    """

    factory: Callable[..., ResNet]

    def __init__(self, pretrained: Optional[str] = None, output_stride: int = 32) -> None:
        super().__init__()
        name = type(self).__name__
        if not is_int(output_stride) or output_stride not in OUTPUT_STRIDES:
            raise PaddleFCNError(f"{name}: output_stride must be 8, 16 or 32, got {output_stride!r}")
        net = self.factory()
        block = type(net.layer1[0])
        if output_stride != 32:
            if block is not BottleneckBlock:
                raise PaddleFCNError(
                    f"{name}: output_stride {output_stride} needs bottleneck blocks (ResNet50 and deeper); "
                    f"{name} supports only 32"
                )
            _dilate(net, output_stride)
        load_vision_weights(net, pretrained, lambda: self.factory(pretrained=True))
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        self.feature_specs = [
            FeatureSpec(f"layer{i + 1}", planes * block.expansion, min(4 * 2**i, output_stride))
            for i, planes in enumerate((64, 128, 256, 512))
        ]

    def forward(self, x: paddle.Tensor) -> list[paddle.Tensor]:
        c1 = self.layer1(self.stem(x))
        c2 = self.layer2(c1)
        c3 = self.layer3(c2)
        return [c1, c2, c3, self.layer4(c3)]


def _dilate(net: ResNet, output_stride: int) -> None:
    """Rebuilds layer4 (and layer3 at ``output_stride`` 8) of a bottleneck ResNet with stride 1 and dilation.

    Each dilated stage doubles the dilation; its first block keeps the previous stage's dilation in its 3x3
    convolution, as in torchvision. (``paddle.vision``'s own ``_make_layer(dilate=True)`` leaves the later
    blocks undilated.)
    """
    dilation = 1
    for name, planes, stride in (("layer3", 256, 16), ("layer4", 512, 32)):
        if stride <= output_stride:
            continue
        previous, dilation = dilation, 2 * dilation
        inplanes, outplanes = 2 * planes, planes * BottleneckBlock.expansion
        downsample = nn.Sequential(nn.Conv2D(inplanes, outplanes, 1, bias_attr=False), nn.BatchNorm2D(outplanes))
        blocks = [BottleneckBlock(inplanes, planes, 1, downsample, dilation=previous)]
        blocks += [BottleneckBlock(outplanes, planes, dilation=dilation) for _ in range(len(getattr(net, name)) - 1)]
        setattr(net, name, nn.Sequential(*blocks))


@BACKBONES.register()
class ResNet18(_ResNet):
    """ResNet-18 (``paddle.vision.models.resnet18``): layer1..layer4 with 64, 128, 256, 512 channels."""

    factory = staticmethod(resnet18)


@BACKBONES.register()
class ResNet34(_ResNet):
    """ResNet-34 (``paddle.vision.models.resnet34``): layer1..layer4 with 64, 128, 256, 512 channels."""

    factory = staticmethod(resnet34)


@BACKBONES.register()
class ResNet50(_ResNet):
    """ResNet-50 (``paddle.vision.models.resnet50``): layer1..layer4 with 256, 512, 1024, 2048 channels."""

    factory = staticmethod(resnet50)


@BACKBONES.register()
class ResNet101(_ResNet):
    """ResNet-101 (``paddle.vision.models.resnet101``): layer1..layer4 with 256, 512, 1024, 2048 channels."""

    factory = staticmethod(resnet101)


@BACKBONES.register()
class ResNet152(_ResNet):
    """ResNet-152 (``paddle.vision.models.resnet152``): layer1..layer4 with 256, 512, 1024, 2048 channels."""

    factory = staticmethod(resnet152)
