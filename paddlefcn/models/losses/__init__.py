"""Losses for dense prediction; importing this package registers them in ``LOSSES``."""

from paddlefcn.models.losses.config import build_loss, check_class_weights, loss_config
from paddlefcn.models.losses.cross_entropy import CrossEntropyLoss

__all__ = ["CrossEntropyLoss", "build_loss", "check_class_weights", "loss_config"]
