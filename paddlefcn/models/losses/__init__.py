"""Losses for dense prediction; importing this package registers them in ``LOSSES``."""

from paddlefcn.models.losses.config import build_loss, check_class_weights, loss_config
from paddlefcn.models.losses.cross_entropy import CrossEntropyLoss
from paddlefcn.models.losses.dice import DiceLoss
from paddlefcn.models.losses.lovasz import LovaszSoftmaxLoss

__all__ = ["CrossEntropyLoss", "DiceLoss", "LovaszSoftmaxLoss", "build_loss", "check_class_weights", "loss_config"]
