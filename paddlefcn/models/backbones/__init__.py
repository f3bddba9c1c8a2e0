"""Backbones; importing this package registers them in ``BACKBONES``."""

from paddlefcn.models.backbones.base import Backbone, FeatureSpec
from paddlefcn.models.backbones.resnet import ResNet34
from paddlefcn.models.backbones.vgg import VGG16

__all__ = ["Backbone", "FeatureSpec", "ResNet34", "VGG16"]
