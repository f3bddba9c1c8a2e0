"""Losses for dense prediction, registered in ``LOSSES``."""

from __future__ import annotations

from typing import Optional, Sequence

import paddle
import paddle.nn.functional as F
from paddle import nn

from paddlefcn.config import check_number
from paddlefcn.errors import PaddleFCNError
from paddlefcn.registry import LOSSES


@LOSSES.register()
class CrossEntropyLoss(nn.Layer):
    """Pixel-wise cross-entropy averaged over the pixels that are not ``ignore_index``.

    Args:
        ignore_index: Label value that contributes no loss.
        weight: Optional per-class weights.
    """

    def __init__(self, ignore_index: int = 255, weight: Optional[Sequence[float]] = None) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.weight = None if weight is None else paddle.to_tensor(list(weight), dtype="float32")

    def forward(self, logits: paddle.Tensor, labels: paddle.Tensor) -> paddle.Tensor:
        return F.cross_entropy(
            logits.astype("float32"),
            labels.unsqueeze(1),
            weight=self.weight,
            ignore_index=self.ignore_index,
            axis=1,
            reduction="mean",
        )


def build_loss(cfg: Optional[dict], ignore_index: int, num_classes: int) -> nn.Layer:
    """Builds the loss (cross-entropy by default) with the dataset's ignore index unless one is given.

    Args:
        cfg: The ``loss`` section.
        ignore_index: The label value that contributes no loss, unless ``cfg`` names one.
        num_classes: The number of values ``loss.weight`` must have, when given.
    """
    cfg = {"type": "CrossEntropyLoss", **(cfg or {})}
    cfg.setdefault("ignore_index", ignore_index)
    if cfg.get("weight") is not None:
        cfg["weight"] = check_class_weights(cfg["weight"], num_classes)
    return LOSSES.build(cfg)


def check_class_weights(weights: object, num_classes: int) -> list[float]:
    """``weights`` as floats if they are ``num_classes`` non-negative numbers; else raises naming ``loss.weight``."""
    if not isinstance(weights, (list, tuple)) or len(weights) != num_classes:
        raise PaddleFCNError(f"loss.weight must list one weight for each of the {num_classes} classes, got {weights!r}")
    values = [check_number(w, f"loss.weight[{i}]") for i, w in enumerate(weights)]
    if min(values) < 0 or max(values) == 0:
        raise PaddleFCNError(f"loss.weight must be non-negative and not all 0, got {weights!r}")
    return values
