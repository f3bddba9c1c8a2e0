"""Pixel-wise cross-entropy."""

from __future__ import annotations

from typing import Optional, Sequence

import paddle
import paddle.nn.functional as F
from paddle import nn

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
