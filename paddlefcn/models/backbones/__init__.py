"""Backbones; importing this package registers them in ``BACKBONES``."""

from paddlefcn.models.backbones.base import Backbone, FeatureSpec
from paddlefcn.models.backbones.mobilenet import MobileNetV2, MobileNetV3Large, MobileNetV3Small
from paddlefcn.models.backbones.resnet import ResNet18, ResNet34, ResNet50, ResNet101, ResNet152
from paddlefcn.models.backbones.vgg import VGG11, VGG13, VGG16, VGG19

__all__ = [
    "Backbone",
    "FeatureSpec",
    "MobileNetV2",
    "MobileNetV3Large",
    "MobileNetV3Small",
    "ResNet18",
    "ResNet34",
    "ResNet50",
    "ResNet101",
    "ResNet152",
    "VGG11",
    "VGG13",
    "VGG16",
    "VGG19",
]
