"""Losses for dense prediction; importing this package registers them in ``LOSSES``."""

from paddlefcn.models.losses.base import Loss
from paddlefcn.models.losses.build import build_loss, check_class_weights, loss_config, loss_terms
from paddlefcn.models.losses.combined import SegmentationLoss
from paddlefcn.models.losses.cross_entropy import CrossEntropyLoss
from paddlefcn.models.losses.dice import DiceLoss
from paddlefcn.models.losses.lovasz import LovaszSoftmaxLoss
from paddlefcn.models.losses.ohem import OhemCrossEntropyLoss

__all__ = [
    "CrossEntropyLoss",
    "DiceLoss",
    "LovaszSoftmaxLoss",
    "OhemCrossEntropyLoss",
    "Loss",
    "SegmentationLoss",
    "build_loss",
    "check_class_weights",
    "loss_config",
    "loss_terms",
]
